#! /usr/bin/atf-sh
# A hostile cbdiscod: cbp2pd starts regress/e2e/hostile_disco in its
# place, which sends what a compromised cbdiscod or a hostile registry
# could.  Every attempt is refused or cleaned and counted, the daemon
# keeps running, and the token peer's traffic and allowed IPs never
# move.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	HOSTILE=$TOP/regress/e2e/hostile_disco
	MAX_PEERS=4
	NWHITE=5
}

# Node a: a p2p-mesh token (so discovery is on) that names b as a static
# peer, five whitelisted keys, auto_approve off and max_peers 4; b is
# wireguard-go.  The edge is never reached: the fake cbdiscod stands in
# for the registry client.
setup()
{
	cb_two_ns
	cb_edge_certs
	umask 077
	wg genkey > b.priv
	wg pubkey < b.priv > b.pub
	white=
	for i in $(seq $NWHITE); do
		wg genkey | wg pubkey > "w$i.pub"
		white="$white${white:+,}\"$(cat "w$i.pub")\""
	done
	cb_wgkeys a
	PORT=51821 cb_claims a p2p-mesh 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" 10.200.0.2:51820 10.99.0.2/32)"
	jq --argjson w "[$white]" --argjson m $MAX_PEERS '
	    .mesh_config.routing = "direct" |
	    .wireguard_config.allowed_ips = ["10.99.0.1/32"] |
	    .peer_whitelist.allowed_peers = $w |
	    .peer_whitelist.auto_approve = false |
	    .peer_whitelist.max_peers = $m' a.claims > a.claims.new ||
	    atf_fail "claims"
	mv a.claims.new a.claims
	"$CBP2PCTL" token -r -a ES256 -k keys/es256.key a.claims > a.jwt ||
	    atf_fail "token for a"
	chmod 600 a.jwt
	cb_config a ES256 keys "edge:
  registry: https://10.200.0.9:8443
  ca: $PWD/ca.crt"
	# The children cbp2pd starts: the real two and the fake.
	mkdir libexec
	ln -s "$OBJ/cbmeshd" "$OBJ/cbrelayd" libexec/
	ln -s "$HOSTILE" libexec/cbdiscod
	cb_start_wggo
	echo "$WGB" > wgb.name
	CBHOSTILE_OWNED=10.99.0.2/32
	CBHOSTILE_STATIC_KEY=$(cat b.pub)
	export CBHOSTILE_OWNED CBHOSTILE_STATIC_KEY
	cb_start a -x "$PWD/libexec"
}

status()
{
	cb_ctl a -j status > a.status || atf_fail "status"
}

# counter JQ-PATH: a number from a's status.
counter()
{
	jq -r "$1" a.status
}

fake_state()
{
	jq -r '.children[] | select(.name == "cbdiscod") | .state' a.status
}

# All refusals counted: what the fake sent has been judged.
judged()
{
	cb_ctl a -j status > a.status 2>/dev/null &&
	    [ "$(counter '.discovery.refused.max_peers')" -ge 2 ]
}

atf_test_case hostile cleanup
hostile_head()
{
	atf_set descr "a hostile cbdiscod: every bad peer update is refused and counted, the token peer keeps its traffic"
	atf_set require.user root
	atf_set require.progs "wireguard-go wg jq"
	atf_set timeout 90
}
hostile_body()
{
	common
	setup
	pid=$(cat a.pid)
	status
	fake=$(jq -r '.children[] | select(.name == "cbdiscod") | .pid' \
	    a.status)
	[ "$(readlink "/proc/$fake/exe")" = "$(readlink -f "$HOSTILE")" ] ||
	    atf_fail "cbdiscod is not the fake"
	cb_until 10 sh -c "$CBP2PCTL -j -s a.sock status | grep -q 'hostile: configured, $NWHITE allowed keys'" ||
	    atf_fail "the fake did not get its configuration: $(fake_state)"

	# Before: the token peer answers, its allowed IPs as the token says.
	cb_ping "$A" 10.99.0.2
	cb_wga allowed-ips > aips.before
	cat aips.before
	grep -q "^$(cat b.pub)	10.99.0.2/32$" aips.before ||
	    atf_fail "b's allowed IPs before"

	nfd=$(ls "/proc/$pid/fd" | wc -l)

	# During: a ping runs while the fake sends everything.
	ip netns exec "$A" ping -c 25 -i 0.2 -W 1 10.99.0.2 > ping.during \
	    2>&1 &
	pingpid=$!
	sleep 1
	kill -USR1 "$fake" || atf_fail "cannot signal the fake"
	cb_until 10 judged || { wait "$pingpid"; cat ping.during a.log;
	    cb_wga allowed-ips; atf_fail "the attack was not judged"; }
	wait "$pingpid"
	cat ping.during
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' ping.during)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' ping.during)
	[ -n "$sent" ] && [ "${got:-0}" -ge $((sent - 1)) ] ||
	    atf_fail "pings lost during the attack: $got of $sent"

	# After: the daemon runs, nothing of b moved, and it answers.
	kill -0 "$pid" || { cat a.log; atf_fail "cbp2pd died"; }
	status
	cat a.status
	cat a.log
	fake_state | grep -q "^hostile: sent " ||
	    atf_fail "the fake did not finish: $(fake_state)"
	# Its status line came with a terminal title and a bell in it:
	# cbp2pctl prints them encoded (JSON escapes them by itself).
	cb_ctl a status > a.text || atf_fail "status"
	grep -F 'hostile: sent ' a.text | grep -qF 'evil\033]0;owned\a' ||
	    atf_fail "the fake's status not encoded: $(grep hostile a.text | cat -v)"
	! grep -q "$(printf '[\001-\010\013-\037\177]')" a.text ||
	    atf_fail "a control character in cbp2pctl's output: $(cat -v a.text)"
	fake_state | grep -qF "$(printf 'evil\033]0;owned\007')" ||
	    atf_fail "JSON lost the fake's bytes"
	cb_ping "$A" 10.99.0.2
	cb_wga allowed-ips > aips.after
	cat aips.after
	grep "^$(cat b.pub)	" aips.after > b.after
	grep "^$(cat b.pub)	" aips.before > b.before
	cmp -s b.before b.after || atf_fail "b's allowed IPs changed"
	! grep -E '0\.0\.0\.0/0|10\.99\.0\.0/24|192\.168\.77\.|10\.99\.0\.5[01]/' \
	    aips.after || atf_fail "a refused prefix was installed"

	# Each attempt is counted under its reason.
	for r in default_route:1 owned_prefix:2 outside_subnet:1 \
	    not_approved:1 static_key:1 malformed:2 max_peers:2 bad_name:2; do
		n=$(counter ".discovery.refused.${r%%:*}")
		[ "$n" = "${r#*:}" ] ||
		    atf_fail "refused ${r%%:*}: $n, want ${r#*:}"
	done
	for r in loopback:2 multicast:1 broadcast:1 unspecified:1 \
	    port_zero:1; do
		n=$(counter ".discovery.endpoints_dropped.${r%%:*}")
		[ "$n" = "${r#*:}" ] ||
		    atf_fail "endpoints dropped ${r%%:*}: $n, want ${r#*:}"
	done
	# With a message, without the flag, and four at once: the two the
	# parent's buffer took and one count for those the kernel closed.
	[ "$(counter .child_fds_closed)" = 5 ] ||
	    atf_fail "descriptors closed: $(counter .child_fds_closed)"
	grep -q "cbdiscod passed 1 descriptor too many at once; closed" \
	    a.log || atf_fail "no warning for the truncated descriptors"
	# None of them stayed open in the parent.
	cb_until 5 sh -c "[ \$(ls /proc/$pid/fd | wc -l) = $nfd ]" ||
	    atf_fail "descriptors of cbp2pd: $nfd before, \
	    $(ls "/proc/$pid/fd" | wc -l) after"
	# w1 with its good endpoint, then w2 and w3 of the flood: with b,
	# max_peers.
	[ "$(counter .discovery.admitted)" = 3 ] ||
	    atf_fail "admitted: $(counter .discovery.admitted)"
	[ "$(counter .peers)" = $MAX_PEERS ] ||
	    atf_fail "peers: $(counter .peers), want $MAX_PEERS"
	# The whitelisted peer got its own address and nothing else.
	grep -q "^$(cat w1.pub)	10\.99\.0\.11/32$" aips.after ||
	    atf_fail "w1's allowed IPs"
	# Its NAT mapping, out of range, counted and taken as unknown.
	[ "$(counter .nat_refused)" = 1 ] ||
	    atf_fail "NAT mappings refused: $(counter .nat_refused)"
	[ "$(cb_ctl a -j peers | jq -r --arg k "$(cat w1.pub)" \
	    '.[] | select(.public_key == $k) | .nat')" = unknown ] ||
	    atf_fail "w1's NAT mapping is not unknown"
	grep -q "NAT mapping 7 refused, taken as unknown" a.log ||
	    atf_fail "no warning for the NAT mapping"
	grep -q "refused peer .*: owned_prefix 10.99.0.2/32" a.log ||
	    atf_fail "no warning for the stolen prefix"
	# w1 is named as the fake said; b, a token peer, has no name.
	cb_ctl a -j peers > a.peers
	[ "$(jq -r --arg k "$(cat w1.pub)" '.[] | select(.public_key == $k) |
	    .name' a.peers)" = w1.hostile.example ] ||
	    atf_fail "w1's name: $(jq -c . a.peers)"
	[ "$(jq -r --arg k "$(cat b.pub)" '.[] | select(.public_key == $k) |
	    .name' a.peers)" = null ] || atf_fail "b has a name"
	grep -q "refused peer .*: bad_name" a.log ||
	    atf_fail "no warning for the bad names"
	# cbrelayd's reports from cbdiscod: refused, counted, b not gone.
	[ "$(counter .relay_presence_refused.not_cbrelayd)" = 2 ] ||
	    atf_fail "relay reports refused: $(jq -c .relay_presence_refused a.status)"
	[ "$(jq -r --arg k "$(cat b.pub)" '.[] | select(.public_key == $k) |
	    .relay_state' a.peers)" = unknown ] || atf_fail "b's relay state"
	# The children are the same ones: nothing restarted.
	[ "$(jq -r '.children[] | select(.name == "cbdiscod") | .pid' \
	    a.status)" = "$fake" ] || atf_fail "cbdiscod changed"
	kill -0 "$pid" || atf_fail "cbp2pd died"
}
hostile_cleanup()
{
	common
	[ -f wgb.name ] && cb_wggo_stop "$(cat wgb.name)"
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case hostile
}
