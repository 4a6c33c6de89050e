#! /usr/bin/atf-sh
# A live rekey, waited out once: a session older than REKEY_AFTER_TIME
# (120 s) is replaced by a new handshake while traffic flows, before the
# old one is refused at REJECT_AFTER_TIME (180 s).  A runs cbp2pd, B
# wireguard-go (cb_pair_wggo); cbp2pd starts the session, so the rekey
# is its own timer's.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# hs IFNAME KEYFILE: the latest handshake with that peer, in seconds.
hs()
{
	wg show "$1" latest-handshakes | awk -v k="$(cat "$2")" \
	    '$1 == k { print $2 }'
}

atf_test_case live_rekey cleanup
live_rekey_head()
{
	atf_set descr "a session older than REKEY_AFTER_TIME is rekeyed while a ping runs, without loss"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg"
	# 120 s of session, then margins.
	atf_set timeout 300
}
live_rekey_body()
{
	common
	cb_pair_wggo
	cb_ping "$A" 10.99.0.2
	h0=$(hs "cb$$a" b.pub)
	g0=$(hs "$WGB" a.pub)
	echo "first handshake: cbp2pd $h0, wireguard-go $g0"
	[ "${h0:-0}" -gt 0 ] && [ "${g0:-0}" -gt 0 ] ||
	    atf_fail "no handshake to start from"
	# Two pings a second from A for the whole session.
	ip netns exec "$A" ping -i 0.5 -W 2 10.99.0.2 > ping.out 2>&1 &
	echo $! > ping.pid
	# The rekey comes 120 s after h0; 170 s is before the old session
	# would be refused (180 s) plus the time to start up.
	cb_until 170 sh -c "[ \$(wg show cb$$a latest-handshakes | awk '\$1 == \"$(cat b.pub)\" { print \$2 }') -gt $h0 ]" ||
	    { kill -INT "$(cat ping.pid)"; tail -5 ping.out
	    atf_fail "no new handshake within 170 s"; }
	h1=$(hs "cb$$a" b.pub)
	# A few more pings over the new session, then the tally.
	sleep 5
	kill -INT "$(cat ping.pid)"
	cb_wait_exit "$(cat ping.pid)" 10 || atf_fail "ping did not stop"
	rm ping.pid
	tail -3 ping.out
	g1=$(hs "$WGB" a.pub)
	echo "rekey: cbp2pd $h1 ($((h1 - h0)) s later), wireguard-go $g1"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' ping.out)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' ping.out)
	echo "pings: $got of $sent answered"
	# Never before REKEY_AFTER_TIME (whole seconds on both sides) ...
	[ $((h1 - h0)) -ge 119 ] ||
	    atf_fail "a new handshake after $((h1 - h0)) s, before REKEY_AFTER_TIME"
	# ... and from sending (at 120 s, with a ping every 0.5 s), not from
	# the last-minute handshake an initiator makes when it receives on
	# a session REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT =
	# 165 s old: 30 s of margin for a slow machine, 15 s below that.
	[ $((h1 - h0)) -le 150 ] ||
	    atf_fail "the rekey came $((h1 - h0)) s after the handshake, not at REKEY_AFTER_TIME"
	# wireguard-go saw the same new handshake.
	[ "${g1:-0}" -gt "$g0" ] || atf_fail "wireguard-go shows no new handshake"
	# The ping ran from h0 to past h1 (some 250 sent); at most 2 lost.
	[ "${sent:-0}" -ge 100 ] || atf_fail "only ${sent:-0} pings sent"
	[ $((sent - got)) -le 2 ] ||
	    atf_fail "$((sent - got)) of $sent pings lost across the rekey"
	cb_ping "$A" 10.99.0.2
}
live_rekey_cleanup()
{
	common
	[ -f ping.pid ] && kill "$(cat ping.pid)" 2>/dev/null
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case live_rekey
}
