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
	atf_set descr "malformed requests on the wg socket are refused; the daemon carries on"
	atf_set require.user root
	atf_set timeout 60
}
bad_uapi_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	python3 - "/var/run/wireguard/cb$$a.sock" <<'PY' || atf_fail "probe"
import socket, sys
def req(data):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(5)
    s.sendall(data)
    out = b""
    try:
        while not out.endswith(b"\n\n"):
            r = s.recv(4096)
            if not r:
                break
            out += r
    except socket.timeout:
        pass
    s.close()
    return out.decode(errors="replace")
for bad in (b"get=2\n\n", b"\x00\x01\x02\n\n", b"x" * 5000 + b"\n\n",
            b"set=1\nlisten_port=99999\n\n",
            b"set=1\npublic_key=" + b"0" * 63 + b"\n\n",
            b"set=1\nbogus=1\n\n",
            b"set=1\nprivate_key=" + b"1" * 64 + b"\npublic_key=" +
            b"2" * 64 + b"\nprivate_key=" + b"3" * 64 + b"\n\n"):
    r = req(bad)
    print(repr(bad[:30]), "->", repr(r))
    assert "errno=0" not in r, r
r = req(b"get=1\n\n")
assert "errno=0" in r and "public_key=" in r, r
PY
	cb_ctl a status
	[ "$(cb_wga peers)" = "$(cat b.pub)" ] || atf_fail "peer state changed"
	[ "$(cb_wga listen-port)" = 51821 ] || atf_fail "port changed"
	cb_ping "$A" 10.99.0.2
}
bad_uapi_cleanup()
{
	common
	cb_kill a
}

atf_test_case flood cleanup
flood_head()
{
	atf_set descr "a flood of initiations with valid mac1 gets cookie replies; the real peer keeps working"
	atf_set require.user root
	atf_set timeout 90
}
flood_body()
{
	common
	cb_pair_wggo
	cb_ping "$B" 10.99.0.1
	ip netns exec "$B" $WGPKT flood 10.200.0.1 51821 "$(cat a.pub)" 6 \
	    > flood.out &
	fpid=$!
	cb_until $WAIT_SECS grep -qx flooding flood.out ||
	    { cat flood.out; atf_fail "the flooder did not start"; }
	# During the flood the established session carries traffic.
	cb_ping "$B" 10.99.0.1
	cb_ping "$A" 10.99.0.2
	kill -0 $fpid 2>/dev/null ||
	    atf_fail "the flood was over before the pings were"
	wait $fpid || atf_fail "flooder"
	cat flood.out
	cookies=$(awk '/^cookies/ { print $2 }' flood.out)
	[ "$cookies" -gt 0 ] || atf_fail "no cookie replies reached the flooder"
	[ "$(cb_ctl a -j status | jq .cookies_sent)" -ge "$cookies" ] ||
	    atf_fail "cookie replies not counted"
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
