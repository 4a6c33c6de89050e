#! /usr/bin/atf-sh
# Bad input and floods against cbp2pd's WireGuard port and its wg
# configuration socket, while a real peer (wireguard-go) keeps talking.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	WGPKT="python3 $(atf_get_srcdir)/wgpkt.py"
}

drops()
{
	cb_ctl a -j status | jq ".drops.$1"
}

# drops_reach KIND N: cbp2pd has counted at least N drops of KIND.
drops_reach()
{
	[ "$(drops "$1")" -ge "$2" ]
}

atf_test_case bad_packets cleanup
bad_packets_head()
{
	atf_set descr "garbage, truncated, replayed and wrong-key packets are dropped and counted"
	atf_set require.user root
	atf_set timeout 90
}
bad_packets_body()
{
	common
	cb_pair_wggo
	cb_ping "$B" 10.99.0.1
	ip netns exec "$B" $WGPKT junk 10.200.0.1 51821 "$(cat a.pub)" ||
	    atf_fail "junk sender"
	# Capture one of wireguard-go's data messages and send it again:
	# the ping goes once the capture says it is open.
	ip netns exec "$B" $WGPKT replay eth0 10.200.0.1 51821 30 \
	    > replay.out &
	rpid=$!
	cb_until $WAIT_SECS grep -qx ready replay.out ||
	    { cat replay.out; atf_fail "the capture did not start"; }
	cb_ping "$B" 10.99.0.1
	wait $rpid || atf_fail "replay sender"
	cat replay.out
	# The datagrams are sent; give cbp2pd's counters a bounded while.
	cb_until 5 drops_reach replay 10
	cb_ctl a status
	drops_reach short 13 || atf_fail "garbage not counted"
	drops_reach mac1 5 || atf_fail "bad mac1 not counted"
	drops_reach handshake 5 || atf_fail "unknown keys not counted"
	drops_reach unknown_index 5 || atf_fail "unknown index"
	drops_reach replay 10 || atf_fail "replays not counted"
	[ "$(cb_ctl a -j status | jq .stun_packets)" = 1 ] ||
	    atf_fail "STUN packet not recognised"
	# The real peer is still served, with its session intact.
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	[ "$(cb_wga peers)" = "$(cat b.pub)" ] || atf_fail "peer state changed"
}
bad_packets_cleanup()
{
	common
	cb_kill a
}

atf_test_case allowed_ips cleanup
allowed_ips_head()
{
	atf_set descr "inner packets from outside the peer's allowed IPs are dropped and counted"
	atf_set require.user root
	atf_set timeout 60
}
allowed_ips_body()
{
	common
	cb_pair_wggo
	cb_ping "$B" 10.99.0.1
	# wireguard-go sends it (10.99.0.1 is its peer's), cbp2pd refuses it:
	# 10.99.0.77 is not among the allowed IPs of that peer.
	ip -n "$B" addr add 10.99.0.77/24 dev "$WGB"
	! ip netns exec "$B" ping -c 3 -i 0.2 -W 1 -I 10.99.0.77 10.99.0.1 ||
	    atf_fail "a spoofed inner source got through"
	[ "$(drops allowed_ips)" -ge 3 ] ||
	    atf_fail "spoofed sources not counted: $(drops allowed_ips)"
	cb_ping "$B" 10.99.0.1
}
allowed_ips_cleanup()
{
	common
	cb_kill a
}

atf_test_case bad_uapi cleanup
bad_uapi_head()
{
	atf_set descr "malformed requests on the wg socket are refused with an errno or a closed connection; the configuration is unchanged"
	atf_set require.user root
	atf_set timeout 60
}

# wg show dump of cbp2pd without what traffic moves (latest handshake,
# transfer counters): keys, port, fwmark, peers, endpoints, allowed IPs,
# keepalive.
uapi_conf()
{
	wg show "cb$$a" dump |
	    awk -F '\t' 'NR == 1 { print; next } { print $1, $2, $3, $4, $8 }'
}

bad_uapi_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	uapi_conf > before.conf
	cat before.conf
	[ "$(wc -l < before.conf)" = 2 ] || atf_fail "no peer before"
	ahex=$(base64 -d < a.pub | od -An -tx1 | tr -d ' \n')
	bhex=$(base64 -d < b.pub | od -An -tx1 | tr -d ' \n')
	[ ${#ahex} = 64 ] && [ ${#bhex} = 64 ] || atf_fail "keys in hex"
	python3 - "/var/run/wireguard/cb$$a.sock" "$ahex" "$bhex" <<'PY' ||
import os, re, socket, sys
path, ahex, bhex = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()

def req(data):
    """The reply, and whether cbp2pd closed the connection after it."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(5)
    s.sendall(data)
    out = b""
    try:
        while True:
            r = s.recv(4096)
            if not r:
                closed = True
                break
            out += r
            if out.endswith(b"\n\n"):
                closed = False
                break
    except socket.timeout:
        sys.exit("no answer in 5 s to %r: %r" % (data[:40], out))
    s.close()
    return out.decode(errors="replace"), closed

bad = 0
# Not a request of the protocol: wireguard-go closes the connection with
# no reply (an unknown operation); so must cbp2pd, and quickly.
for junk in (b"get=2\n\n", b"\x00\x01\x02\n\n", b"x" * 5000 + b"\n\n",
             b"set=1\nlisten_port=1\x002\n\n"):
    r, closed = req(junk)
    print(repr(junk[:30]), "->", repr(r), "closed" if closed else "")
    if r != "" or not closed:
        print("  FAIL: want the connection closed with no reply")
        bad += 1
# Well-formed set requests that cannot be applied: the protocol's
# answer is errno=-N (N > 0) and, as cbp2pd(8) says, a request is
# checked whole before any of it is applied.  The valid lines before
# the bad one would change the port, the peers and b's allowed IPs and
# endpoint if any of it were applied.  The last three parse; only
# applying them could fail (this node's own key as a peer, a link-local
# endpoint on no interface, more peers than max_peers 16).
many = b"".join(b"public_key=" + os.urandom(32).hex().encode() +
                b"\nallowed_ip=10.99.1.%d/32\n" % i for i in range(17))
for set_ in (
        b"listen_port=99999\n",
        b"public_key=" + b"0" * 63 + b"\n",
        b"bogus=1\n",
        b"private_key=" + b"1" * 64 + b"\npublic_key=" + b"2" * 64 +
        b"\nprivate_key=" + b"3" * 64 + b"\n",
        b"listen_port=51999\nbogus=1\n",
        b"replace_peers=true\nlisten_port=70000\n",
        b"public_key=" + bhex + b"\nremove=true\npublic_key=zz\n",
        b"public_key=" + bhex + b"\nreplace_allowed_ips=true\n"
        b"allowed_ip=10.99.0.99/32\nendpoint=10.200.0.9:9\n"
        b"allowed_ip=10.99.0.300/32\n",
        b"listen_port=51999\nreplace_peers=true\npublic_key=" + ahex +
        b"\nallowed_ip=10.99.0.98/32\n",
        b"listen_port=51999\npublic_key=" + bhex +
        b"\nendpoint=[fe80::1%nosuchif0]:51820\n",
        b"listen_port=51999\n" + many):
    r, closed = req(b"set=1\n" + set_ + b"\n")
    print(repr(set_[:40]), "->", repr(r))
    m = re.fullmatch(r"errno=-([0-9]+)\n\n", r)
    if m is None or int(m.group(1)) == 0:
        print("  FAIL: want errno=-N with N > 0")
        bad += 1
r, closed = req(b"get=1\n\n")
if not r.endswith("errno=0\n\n") or "public_key=" + bhex.decode() not in r:
    print("get=1 after the bad requests ->", repr(r))
    bad += 1
sys.exit(bad)
PY
	    atf_fail "bad requests not refused as they should be"
	cb_ctl a status
	uapi_conf > after.conf
	diff before.conf after.conf || atf_fail "the configuration changed"
	[ "$(cb_wga listen-port)" = 51821 ] || atf_fail "port changed"
	cb_ping "$A" 10.99.0.2
}
bad_uapi_cleanup()
{
	common
	cb_kill a
}

# flood_ping NS ADDR: a ping gets through within a wide window.
flood_ping()
{
	cb_until 30 ip netns exec "$1" ping -c 1 -W 1 "$2" ||
	    atf_fail "no ping from $1 to $2 got through during the flood"
}

atf_test_case flood cleanup
flood_head()
{
	atf_set descr "a flood of initiations with valid mac1 gets cookie replies within the per-source limit; the real peer handshakes anew during it"
	atf_set require.user root
	atf_set timeout 180
}

# a_stat PATH: a number from cbp2pd's status (jq path).
a_stat()
{
	cb_ctl a -j status | jq "$1"
}

# Cookie replies wireguard-go received from cbp2pd (B's netfilter count).
wggo_cookies()
{
	ip netns exec "$B" nft -j list counter ip cnt wggo_cookies |
	    jq '.nftables[] | select(.counter) | .counter.packets'
}

# mono_ms: CLOCK_MONOTONIC in ms, the clock cbp2pd's engine limits by
# (a step of the wall clock cannot shorten the measured flood).
mono_ms()
{
	python3 -c 'import time; print(int(time.monotonic() * 1000))'
}

# handshaked SINCE: wireguard-go has a handshake with cbp2pd at or after
# SINCE (seconds since the epoch); a ping gives it a reason to try.
handshaked()
{
	ip netns exec "$B" ping -c 1 -W 1 10.99.0.1 > /dev/null 2>&1
	hs=$(wg show "$WGB" latest-handshakes | awk '{ print $2 }')
	[ "${hs:-0}" -ge "$1" ]
}

flood_body()
{
	common
	cb_pair_wggo
	cb_ping "$B" 10.99.0.1
	# The flood comes from an address of its own: the limit is per source
	# address, and wireguard-go's 10.200.0.2 keeps its own allowance.
	ip -n "$B" addr add 10.200.0.3/24 dev eth0
	ip netns exec "$B" nft -f - <<NFT || atf_fail "nft"
table ip cnt {
	counter wggo_cookies { }
	chain in {
		type filter hook input priority 0;
		ip saddr 10.200.0.1 udp sport 51821 udp dport 51820 @th,64,8 3 counter name wggo_cookies
	}
}
NFT
	c0=$(a_stat .cookies_sent)
	r0=$(a_stat .drops.ratelimit)
	t0=$(mono_ms)
	# At most 150 s; stopped with SIGTERM once the checks below are done.
	ip netns exec "$B" $WGPKT flood 10.200.0.1 51821 "$(cat a.pub)" 150 \
	    10.200.0.3 > flood.out &
	fpid=$!
	cb_until $WAIT_SECS grep -qx flooding flood.out ||
	    { cat flood.out; atf_fail "the flooder did not start"; }
	# cbp2pd sees more than 128 handshakes a second: it limits them.
	cb_until $WAIT_SECS sh -c "[ \$($CBP2PCTL -j -s a.sock status |
	    jq .drops.ratelimit) -gt $r0 ]" ||
	    { cb_ctl a status; atf_fail "no handshake was rate-limited"; }
	# During the flood the established session carries traffic.  Not
	# every packet: the flood shares the engine's socket buffer, and a
	# slower machine drains it more slowly.
	flood_ping "$B" 10.99.0.1
	flood_ping "$A" 10.99.0.2
	# wireguard-go forgets its session: it must handshake again, under
	# load, through a cookie (its retry after REKEY_TIMEOUT carries mac2).
	since=$(date +%s)
	wg set "$WGB" peer "$(cat a.pub)" remove || atf_fail "wg set remove"
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set re-add"
	[ "$(wg show "$WGB" latest-handshakes | awk '{ print $2 }')" = 0 ] ||
	    atf_fail "the re-added peer still has a handshake"
	cb_until 60 handshaked "$since" || { wg show "$WGB"; cb_ctl a status;
	    atf_fail "no new handshake during the flood"; }
	wg show "$WGB" latest-handshakes
	kill -0 $fpid 2>/dev/null || atf_fail "the flood ended before the handshake"
	[ "$(wggo_cookies)" -ge 1 ] ||
	    atf_fail "wireguard-go got no cookie: its handshake did not meet the load"
	flood_ping "$B" 10.99.0.1
	flood_ping "$A" 10.99.0.2
	kill -TERM $fpid
	wait $fpid || atf_fail "flooder"
	cat flood.out
	c1=$(a_stat .cookies_sent)
	r1=$(a_stat .drops.ratelimit)
	ms=$(($(mono_ms) + 1 - t0))
	sent=$(awk '/^sent/ { print $2 }' flood.out)
	got=$(awk '/^cookies/ { print $2 }' flood.out)
	wc=$(wggo_cookies)
	cookies=$((c1 - c0)) drops=$((r1 - r0))
	# cbp2pd(8): above 128 handshakes a second, each source address gets
	# at most 20 replies a second; the bucket holds a burst of 5
	# (cbp2pd/engine.h).  Every cookie counted here was sent between t0
	# and now, so the bound is exact, with no margin needed.
	limit=$(((5000 + 20 * ms + 999) / 1000))
	echo "flood of $ms ms: $sent initiations sent, $got cookies received;" \
	    "cbp2pd sent $cookies cookies ($wc to wireguard-go)," \
	    "rate-limited $drops; limit for the flooder $limit"
	[ "$got" -gt 0 ] || atf_fail "no cookie replies reached the flooder"
	[ "$cookies" -ge $((got + wc)) ] || atf_fail "cookie replies not counted"
	[ $((cookies - wc)) -le "$limit" ] ||
	    atf_fail "$((cookies - wc)) cookies to one source in $ms ms: over 20/s + 5"
	[ "$drops" -gt 0 ] || atf_fail "nothing rate-limited"
	[ $((drops + cookies - wc)) -le "$sent" ] ||
	    atf_fail "more counted than the flooder sent"
	cb_ctl a status
	cb_ping "$B" 10.99.0.1
}
flood_cleanup()
{
	common
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case bad_packets
	atf_add_test_case allowed_ips
	atf_add_test_case bad_uapi
	atf_add_test_case flood
}
