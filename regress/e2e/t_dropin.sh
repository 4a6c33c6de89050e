#! /usr/bin/atf-sh
# cbp2p-wg, cbp2pd as a drop-in for wireguard-go: brought up and down by
# wg-quick(8) and configured by wg(8) only.  A runs cbp2p-wg, B
# wireguard-go, over a veth pair between two namespaces.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	CBWG=$OBJ/cbp2p-wg
}

# dropin_net: namespaces A and B over a veth, keys for both, wireguard-go
# in B (10.99.0.2, port 51820) with A's key as its peer; A's interface
# name (unique on the host: /var/run is shared) in IFA and ifa.name.
dropin_net()
{
	cb_user
	A=$(cb_ns a)
	B=$(cb_ns b)
	cb_veth "$A" 10.200.0.1/24 "$B" 10.200.0.2/24
	umask 077
	wg genkey > a.priv
	wg pubkey < a.priv > a.pub
	wg genkey > b.priv
	wg pubkey < b.priv > b.pub
	IFA=cbw$$
	echo "$IFA" > ifa.name
	WGB=wgb$$
	cb_wggo "$B" "$WGB" 10.99.0.2/24 51820 b.priv
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set peer on B"
}

# A wg-quick configuration for A, named after its interface as wg-quick
# wants; no DNS, so no resolvconf.
dropin_conf()
{
	cat > "$IFA.conf" <<CONF
[Interface]
PrivateKey = $(cat a.priv)
ListenPort = 51821
Address = 10.99.0.1/24

[Peer]
PublicKey = $(cat b.pub)
Endpoint = 10.200.0.2:51820
AllowedIPs = 10.99.0.2/32
CONF
}

# wg-quick runs the userspace implementation only when the kernel has
# no WireGuard (none on these machines).
need_userspace()
{
	[ ! -e /sys/module/wireguard ] ||
	    atf_skip "the kernel has WireGuard: wg-quick would not run cbp2p-wg"
}

quick()
{
	WG_QUICK_USERSPACE_IMPLEMENTATION=$CBWG ip netns exec "$A" \
	    wg-quick "$1" "./$IFA.conf"
}

# The engine: the one process holding UDP 51821 in A; its parent is
# cbp2p-wg's root process.  Both pids go to files for the cleanup.
dropin_pids()
{
	ENGINE=$(ip netns exec "$A" ss -uapnH 'sport = :51821' |
	    grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
	[ -n "$ENGINE" ] || atf_fail "nobody holds UDP 51821"
	[ "$(echo "$ENGINE" | wc -l)" = 1 ] ||
	    atf_fail "more than one process holds UDP 51821: $ENGINE"
	PARENT=$(awk '/^PPid:/ { print $2 }' "/proc/$ENGINE/status")
	echo "$PARENT $ENGINE" >> dropin.pids
}

# gone PID: the process has exited.  A daemon is reaped by init, which
# may take a moment: a zombie counts as gone.
gone()
{
	! kill -0 "$1" 2>/dev/null ||
	    [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# wait_gone PID: true once PID is gone, false after WAIT_SECS.
wait_gone()
{
	cb_until $WAIT_SECS gone "$1"
}


# privsep KEYFILE: the root parent holds the key, the sandboxed engine
# (unprivileged, no capabilities, chrooted, seccomp) the tun and not
# the key.
privsep()
{
	grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "/proc/$ENGINE/status"
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$PARENT/status")" = 0 ] ||
	    atf_fail "the parent is not root"
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$ENGINE/status")" = \
	    "$(id -u _cbp2p)" ] || atf_fail "the engine does not run as _cbp2p"
	[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$ENGINE/status")" = \
	    0000000000000000 ] || atf_fail "the engine has capabilities"
	[ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$ENGINE/status")" = 1 ] ||
	    atf_fail "engine NoNewPrivs"
	[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$ENGINE/status")" = 2 ] ||
	    atf_fail "engine Seccomp"
	[ "$(readlink "/proc/$ENGINE/root")" = /var/empty ] ||
	    atf_fail "engine root $(readlink "/proc/$ENGINE/root")"
	ls -l "/proc/$ENGINE/fd" | grep -q /dev/net/tun ||
	    atf_fail "the engine has no tun"
	ls -l "/proc/$PARENT/fd" | grep -q /dev/net/tun &&
	    atf_fail "the parent holds the tun"
	find_key "$PARENT" "$1" ||
	    atf_fail "the scan does not find the key even in the parent"
	find_key "$ENGINE" "$1" && atf_fail "the engine's memory holds the key"
	return 0
}

dropin_cleanup()
{
	common
	[ -f iperf.pid ] && kill "$(cat iperf.pid)" 2>/dev/null
	if [ -f dropin.pids ]; then
		for pid in $(cat dropin.pids); do
			kill -9 "$pid" 2>/dev/null
		done
	fi
	cb_kill
	if [ -f ifa.name ]; then
		rm -f "/var/run/wireguard/$(cat ifa.name).sock"
	fi
	return 0
}

atf_test_case wg_quick cleanup
wg_quick_head()
{
	atf_set descr "wg-quick up and down with cbp2p-wg against wireguard-go: ping, iperf3, wg show, privilege separation"
	atf_set require.user root
	atf_set timeout 120
}
wg_quick_body()
{
	common
	need_userspace
	dropin_net
	dropin_conf
	# wg-quick runs wg setconf as soon as cbp2p-wg returns: it must
	# return with the socket served.
	quick up > up.log 2>&1 || { cat up.log; atf_fail "wg-quick up"; }
	cat up.log
	test -S "/var/run/wireguard/$IFA.sock" || atf_fail "no socket"
	grep -q "cbp2p-wg $IFA" up.log ||
	    atf_fail "wg-quick did not run cbp2p-wg"
	dropin_pids
	[ "$(cat "/proc/$PARENT/comm")" = cbp2p-wg ] ||
	    atf_fail "the socket holder's parent is $(cat "/proc/$PARENT/comm")"
	ip -n "$A" -br addr show dev "$IFA" | grep -q 10.99.0.1/24 ||
	    atf_fail "no address on $IFA"

	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	wg show "$IFA"
	[ "$(wg show "$IFA" public-key)" = "$(cat a.pub)" ] ||
	    atf_fail "wg show public key"
	[ "$(wg show "$IFA" listen-port)" = 51821 ] || atf_fail "listen port"
	wg show "$IFA" latest-handshakes | grep -q "$(cat b.pub)	[1-9]" ||
	    atf_fail "wg show has no handshake for the peer"
	wg show "$IFA" endpoints | grep -q "10.200.0.2:51820" ||
	    atf_fail "wg show endpoint"

	ip netns exec "$B" iperf3 -s -1 -D -I "$PWD/iperf.pid" -B 10.99.0.2 ||
	    atf_fail "iperf3 server"
	cb_until $WAIT_SECS sh -c "ip netns exec '$B' ss -Hltn 'sport = :5201' |
	    grep -q ." || atf_fail "iperf3 server not listening"
	ip netns exec "$A" iperf3 -c 10.99.0.2 -n 4M -J > iperf.json ||
	    atf_fail "iperf3 client"
	bytes=$(jq '.end.sum_received.bytes' iperf.json)
	echo "iperf3 TCP through cbp2p-wg -> wireguard-go: $bytes bytes"
	[ "$bytes" -gt 0 ] || atf_fail "nothing arrived"
	# What arrived went through cbp2p-wg's engine, and wg show says so.
	set -- $(wg show "$IFA" transfer)
	echo "wg show $IFA transfer: received $2, sent $3"
	[ "$3" -ge "$bytes" ] || atf_fail "cbp2p-wg counted $3 bytes sent"

	privsep a.priv

	# wg-quick down deletes the link: the daemon stops, its socket goes.
	quick down > down.log 2>&1 || { cat down.log; atf_fail "wg-quick down"; }
	cat down.log
	wait_gone "$PARENT" || atf_fail "cbp2p-wg did not exit"
	wait_gone "$ENGINE" || atf_fail "the engine did not exit"
	[ ! -e "/var/run/wireguard/$IFA.sock" ] || atf_fail "socket left"
	! ip -n "$A" link show "$IFA" 2>/dev/null || atf_fail "link left"
}
wg_quick_cleanup()
{
	dropin_cleanup
}

atf_test_case set_key cleanup
set_key_head()
{
	atf_set descr "wg set private-key changes cbp2p-wg's key live; the new key stays in the parent"
	atf_set require.user root
	atf_set timeout 120
}
set_key_body()
{
	common
	need_userspace
	dropin_net
	dropin_conf
	quick up > up.log 2>&1 || { cat up.log; atf_fail "wg-quick up"; }
	dropin_pids
	cb_ping "$A" 10.99.0.2

	wg genkey > a2.priv
	wg pubkey < a2.priv > a2.pub
	wg set "$IFA" private-key a2.priv || atf_fail "wg set private-key"
	[ "$(wg show "$IFA" public-key)" = "$(cat a2.pub)" ] ||
	    atf_fail "wg show still shows the old public key"
	# The sessions made under the old key are void, and wireguard-go
	# knows only the old key.
	! ip netns exec "$A" ping -c 2 -i 0.5 -W 1 10.99.0.2 ||
	    atf_fail "traffic flows under the old key"
	wg set "$WGB" peer "$(cat a.pub)" remove || atf_fail "wg set remove"
	wg set "$WGB" peer "$(cat a2.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 || atf_fail "wg set peer on B"
	cb_until $WAIT_SECS ip netns exec "$A" ping -c 1 -W 1 10.99.0.2 ||
	    atf_fail "no handshake under the new key"
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1
	wg show "$WGB" latest-handshakes | grep -q "$(cat a2.pub)	[1-9]" ||
	    atf_fail "wireguard-go saw no handshake from the new key"
	# The same processes: nothing restarted to take the key.
	kill -0 "$PARENT" && kill -0 "$ENGINE" ||
	    atf_fail "cbp2p-wg restarted"
	privsep a2.priv
	quick down > down.log 2>&1 || { cat down.log; atf_fail "wg-quick down"; }
	wait_gone "$PARENT" || atf_fail "cbp2p-wg did not exit"
}
set_key_cleanup()
{
	dropin_cleanup
}

atf_test_case set_atomic cleanup
set_atomic_head()
{
	atf_set descr "a wg set whose third peer cannot be made changes nothing: not the port, not the first two peers"
	atf_set require.user root
	atf_set timeout 120
}
set_atomic_body()
{
	common
	need_userspace
	dropin_net
	dropin_conf
	quick up > up.log 2>&1 || { cat up.log; atf_fail "wg-quick up"; }
	dropin_pids
	cb_ping "$A" 10.99.0.2
	wg show "$IFA" dump > before
	wg genkey | wg pubkey > p1.pub
	wg genkey | wg pubkey > p2.pub
	# u = 1, a low-order point: no handshake is possible with it.
	low=AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	for third in "$low" "$(cat a.pub)"; do
		wg set "$IFA" listen-port 51999 \
		    peer "$(cat p1.pub)" allowed-ips 10.99.0.11/32 \
		    peer "$(cat p2.pub)" allowed-ips 10.99.0.12/32 \
		    peer "$third" allowed-ips 10.99.0.13/32 2> set.err &&
		    atf_fail "wg set with $third as third peer accepted"
		cat set.err
		wg show "$IFA" dump > after
		diff before after || atf_fail "a refused wg set changed the device"
	done
	cb_ping "$A" 10.99.0.2
	# Without the third peer the same request is applied whole.
	wg set "$IFA" listen-port 51999 \
	    peer "$(cat p1.pub)" allowed-ips 10.99.0.11/32 \
	    peer "$(cat p2.pub)" allowed-ips 10.99.0.12/32 ||
	    atf_fail "the good part alone was refused"
	[ "$(wg show "$IFA" listen-port)" = 51999 ] || atf_fail "port"
	[ "$(wg show "$IFA" peers | wc -l)" = 3 ] || atf_fail "peers"
	quick down > down.log 2>&1 || { cat down.log; atf_fail "wg-quick down"; }
	wait_gone "$PARENT" || atf_fail "cbp2p-wg did not exit"
}
set_atomic_cleanup()
{
	dropin_cleanup
}

atf_test_case foreground cleanup
foreground_head()
{
	atf_set descr "cbp2p-wg -f stays in the foreground, follows the MTU, refuses a name in use, exits 0 when its link is deleted"
	atf_set require.user root
	atf_set timeout 120
}
foreground_body()
{
	common
	dropin_net
	ip netns exec "$A" "$CBWG" -f "$IFA" > fg.log 2>&1 &
	fg=$!
	echo "$fg" >> dropin.pids
	cb_until $WAIT_SECS test -S "/var/run/wireguard/$IFA.sock" ||
	    { cat fg.log; atf_fail "no socket"; }
	kill -0 "$fg" || { cat fg.log; atf_fail "cbp2p-wg -f left"; }
	# As wireguard-go: down, MTU 1420, no key, a port of the kernel's.
	ip -n "$A" link show "$IFA" | grep -q "mtu 1420 .*state DOWN" ||
	    atf_fail "the link: $(ip -n "$A" link show "$IFA")"
	[ "$(wg show "$IFA" private-key)" = "(none)" ] ||
	    atf_fail "a private key at start"
	[ "$(wg show "$IFA" listen-port)" -gt 0 ] || atf_fail "no port"

	# Configured by wg and ip alone, as wg-quick does it.
	wg set "$IFA" private-key a.priv listen-port 51821 peer "$(cat b.pub)" \
	    endpoint 10.200.0.2:51820 allowed-ips 10.99.0.2/32 ||
	    atf_fail "wg set"
	ip -n "$A" addr add 10.99.0.1/24 dev "$IFA"
	ip -n "$A" link set "$IFA" mtu 1380 up
	dropin_pids
	[ "$PARENT" = "$fg" ] || atf_fail "the daemon is $PARENT, not $fg"
	cb_ping "$A" 10.99.0.2
	cb_ping "$B" 10.99.0.1 1352
	cb_until $WAIT_SECS grep -q "$IFA: MTU 1380" fg.log ||
	    { cat fg.log; atf_fail "the MTU change was not followed"; }
	# Super-packets that fit one UDP_SEGMENT send: 46 datagrams of
	# 1380 + 32 bytes are at most 65507.
	ip -n "$A" -d link show "$IFA" | grep -q "gso_max_segs 46 " ||
	    atf_fail "gso_max_segs: $(ip -n "$A" -d link show "$IFA")"

	# The name is in use, also from another namespace.
	! ip netns exec "$B" "$CBWG" "$IFA" > dup.log 2>&1 ||
	    atf_fail "a second cbp2p-wg $IFA started"
	cat dup.log
	grep -q "in use" dup.log || atf_fail "no reason given"
	cb_ping "$A" 10.99.0.2

	ip -n "$A" link del "$IFA" || atf_fail "ip link del"
	# Our own child: a zombie until waited for.
	wait_gone "$fg" || { cat fg.log; atf_fail "cbp2p-wg did not exit"; }
	wait "$fg"
	rc=$?
	cat fg.log
	[ "$rc" = 0 ] || atf_fail "exit status $rc"
	grep -q "$IFA was deleted" fg.log || atf_fail "no reason logged"
	# The engine stops reading the dead tun instead of failing on it.
	! grep -q ": read: " fg.log || atf_fail "reads of the deleted tun"
	[ ! -e "/var/run/wireguard/$IFA.sock" ] || atf_fail "socket left"
	wait_gone "$ENGINE" || atf_fail "the engine did not exit"
}
foreground_cleanup()
{
	dropin_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case wg_quick
	atf_add_test_case set_key
	atf_add_test_case set_atomic
	atf_add_test_case foreground
}
