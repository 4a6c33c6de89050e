#! /usr/bin/atf-sh
# cbedged's relay (doc/relay.md) end to end, with hostile clients.
# cbedged runs in namespace $LAB-edge ($EDGE_IP, from common.sh's edge
# helpers), relay clients (relaycli.py) in namespace C (203.0.113.2 and
# .3).  Tokens are registry tokens taken out of node tokens minted with
# "cbp2pctl token -r".  Every wait is a wall-clock deadline with a wide
# margin; nothing asserts how fast anything is.

RELAY_PORT=8444

common()
{
	. "$(atf_get_srcdir)/common.sh"
	RCLI="$(atf_get_srcdir)/relaycli.py"
	ECLI="$(atf_get_srcdir)/edgecli.py"
}

# relay_setup [EXTRA-YAML]: namespaces, issuer keys, certificates and
# cbedged with its relay on $EDGE_IP:$RELAY_PORT.
relay_setup()
{
	cb_user
	cb_issuer_keys keys
	LAB=cb$$r
	echo "$LAB" > lab.name
	E=$(cb_ns r-edge)
	[ "$E" = "$LAB-edge" ] || atf_fail "namespace $E is not $LAB-edge"
	C=$(cb_ns c)
	echo "$C" > c.ns
	cb_veth "$E" $EDGE_IP/24 "$C" 203.0.113.2/24
	ip -n "$C" addr add 203.0.113.3/24 dev eth0
	cb_edge_certs
	cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT
log_level: debug
rate: 1000
burst: 2000
${1:-}"
	cb_until $WAIT_SECS relay_running ||
	    { cat edge.log; atf_fail "the relay did not start"; }
}

relay_running()
{
	[ "$(health .running)" = true ]
}

relay_cleanup()
{
	. "$(atf_get_srcdir)/common.sh"
	touch stop.all
	[ -f edge.pid ] && kill -9 "$(cat edge.pid)" 2>/dev/null
	# Every process of the test's namespaces: cbedged, its worker and
	# the clients.
	cb_ns_cleanup
	return 0
}

# rcli ARGS: relaycli.py in C.
rcli()
{
	ip netns exec "$C" env RELAY="$EDGE_IP:$RELAY_PORT" \
	    EDGE_CA="$PWD/ca.crt" python3 "$RCLI" "$@"
}

# ereq ARGS: edgecli.py req in C, against the registry.
ereq()
{
	ip netns exec "$C" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$ECLI" req "$@"
}

# health JQ-PATH: a member of /v1/health's "relay".
health()
{
	ereq GET /v1/health | jq -r ".body.relay$1"
}

# relay_jq FILTER: /v1/health's "relay" passes the jq filter.  The
# worker reports its counters every second: wait with cb_until.
relay_jq()
{
	health "" | jq -e "$1" >/dev/null
}

# counters FILTER WHAT: within WAIT_SECS the counters pass FILTER.
counters()
{
	cb_until $WAIT_SECS relay_jq "$1" ||
	    atf_fail "$2 counters: $(health "" | jq -c .)"
}

NODE_N=10

# rtoken NAME [MESH] [JQ-FILTER] [SIGNING-KEY]: keys for node NAME, a
# node token NAME.node.jwt minted with "cbp2pctl token -r" (the filter
# edits its claims), and NAME.jwt, the registry token it embeds.
rtoken()
{
	name=$1 mesh=${2:-mesh-1} filter=${3:-.} signer=${4:-keys/es256.key}
	NODE_N=$((NODE_N + 1))
	cb_wgkeys "$name"
	cb_claims "$name" p2p-mesh "10.99.0.$NODE_N/24"
	jq --arg m "$mesh" '.mesh = $m' "$name.claims" | jq "$filter" \
	    > "$name.claims.new" || atf_fail "claims of $name"
	mv "$name.claims.new" "$name.claims"
	"$CBP2PCTL" token -r -a ES256 -k "$signer" "$name.claims" \
	    > "$name.node.jwt" || atf_fail "token for $name"
	rcli regtoken "$name.node.jwt" > "$name.jwt" ||
	    atf_fail "no registry token in $name's node token"
}

# expect_auth RESULT TOKEN [ERROR-REGEX]: AUTH must give RESULT.
expect_auth()
{
	rcli auth "$2" > auth.json || atf_fail "relaycli auth $2"
	jq -e --arg r "$1" '.result == $r' auth.json >/dev/null ||
	    atf_fail "AUTH with $2: $(jq -c . auth.json), expected $1"
	if [ -n "${3:-}" ]; then
		jq -e --arg e "$3" '.error | test($e)' auth.json >/dev/null ||
		    atf_fail "AUTH with $2: $(jq -c . auth.json), expected" \
		    "an error matching $3"
	fi
}

# exch_start A B NAME: A and B exchange packets in the background
# until NAME.stop exists; NAME.json counts rounds and failures.
exch_start()
{
	rm -f "$3.json" "$3.stop"
	rcli exchange "$1.jwt" "$2.jwt" -o "$PWD/$3.json" -s "$PWD/$3.stop" \
	    > "$3.out" 2>&1 &
	cb_until $WAIT_SECS exch_at_least "$3" 5 ||
	    atf_fail "$3: $1 and $2 do not exchange: $(cat "$3.json" \
	    "$3.out" 2>/dev/null | tr '\n' ' ')"
}

exch_rounds()
{
	jq -r .rounds "$1.json" 2>/dev/null || echo 0
}

exch_at_least()
{
	exch_ok "$1" && [ "$(exch_rounds "$1")" -ge "$2" ]
}

exch_ok()
{
	jq -e '.failures == 0 and .started' "$1.json" >/dev/null 2>&1
}

# exch_progress NAME WHAT: NAME makes 20 more rounds, no failure.
exch_progress()
{
	r0=$(exch_rounds "$1")
	cb_until $WAIT_SECS exch_at_least "$1" $((r0 + 20)) ||
	    atf_fail "$1 stopped exchanging $2: $(cat "$1.json")"
}

exch_stop()
{
	touch "$1.stop"
	cb_until $WAIT_SECS jq -e .done "$1.json" ||
	    atf_fail "$1 did not stop: $(cat "$1.json" "$1.out" | tr '\n' ' ')"
	exch_ok "$1" || atf_fail "$1 failed: $(cat "$1.json")"
}

atf_test_case auth cleanup
auth_head()
{
	atf_set descr "AUTH with a registry token binds; garbage, a node" \
	    "token, an expired one, another issuer's, a first frame that" \
	    "is not AUTH and no AUTH at all are refused and counted"
	atf_set require.user root
	atf_set timeout 120
}
auth_body()
{
	common
	relay_setup
	rtoken a
	expect_auth ok a.jwt
	jq -e --arg k "$(cat a.pub)" '.key == $k' auth.json >/dev/null ||
	    atf_fail "AUTH_OK names $(jq -r .key auth.json), not a's key"

	echo "not.a.jwt" > junk.jwt
	expect_auth error junk.jwt "header|malformed"
	head -c 3000 /dev/urandom | base64 -w0 > noise.jwt
	expect_auth error noise.jwt "malformed"
	# The node token itself, which holds the private key.
	expect_auth error a.node.jwt "node token"
	rtoken old mesh-1 '.exp = 1000 | .nbf = 900'
	expect_auth error old.jwt "exp"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out other.key 2>/dev/null || atf_fail "openssl"
	rtoken o mesh-1 . other.key
	expect_auth error o.jwt "signature|verif"
	rtoken i mesh-1 '.iss = "another-issuer"'
	expect_auth error i.jwt "iss"

	rcli hostile early > early.json
	jq -e '.closed and (.error | test("expected AUTH"))' early.json \
	    >/dev/null || atf_fail "SEND before AUTH: $(cat early.json)"
	# No AUTH: closed after 10 s (RELAY_AUTH_SECS), whatever else.
	rcli hostile none --wait 30 > none.json
	jq -e '.closed and (.error | test("no AUTH"))' none.json \
	    >/dev/null || atf_fail "no AUTH: $(cat none.json)"

	counters '.auth.ok >= 1 and .auth.bad_token >= 5 and
	    .auth.forbidden >= 1 and .auth.not_auth >= 1 and
	    .auth.timeout >= 1 and .closed.auth >= 8' auth
	# Still one worker, still serving.
	expect_auth ok a.jwt
}
auth_cleanup()
{
	relay_cleanup
}

atf_test_case forward cleanup
forward_head()
{
	atf_set descr "two clients of a mesh exchange packets with the right" \
	    "source key; a second connection for a key replaces the first;" \
	    "another mesh cannot reach them nor be reached; nobody sends" \
	    "as another key"
	atf_set require.user root
	atf_set timeout 120
}
forward_body()
{
	common
	relay_setup
	rtoken a
	rtoken b
	rtoken m
	rtoken x mesh-2
	rcli pair a.jwt b.jwt -n 50 > pair.json || atf_fail "relaycli pair"
	jq -e --arg a "$(cat a.pub)" --arg b "$(cat b.pub)" '.ok == 50 and
	    .errors == [] and .present_a and .present_b and .gone_b and
	    .key_a == $a and .key_b == $b' pair.json >/dev/null ||
	    atf_fail "a and b: $(cat pair.json)"

	# A second connection for a's key replaces the first.
	rcli replace a.jwt b.jwt > replace.json || atf_fail "relaycli replace"
	jq -e '.present and .old_closed and (.old_error | test("replaced"))
	    and .present_again and .after == null and (.gone | not)' \
	    replace.json >/dev/null || atf_fail "replace: $(cat replace.json)"

	# Across meshes: PEER_GONE (not here), nothing delivered.
	rcli mesh a.jwt x.jwt > mesh.json || atf_fail "relaycli mesh"
	jq -e '.no_present and .x_to_a_gone and .a_to_x_gone and
	    (.a_recv | not) and (.x_recv | not) and .gone_throttled' \
	    mesh.json >/dev/null || atf_fail "meshes: $(cat mesh.json)"

	# M's packet reaches B with M's key as its source, never A's.
	rcli spoof a.jwt b.jwt m.jwt > spoof.json || atf_fail "relaycli spoof"
	jq -e '.b_got and .source_is_m and (.source_is_a | not) and
	    .rebind_closed and .after == null' spoof.json >/dev/null ||
	    atf_fail "spoofing: $(cat spoof.json)"

	counters '.frames.forwarded >= 103 and .drops.not_here >= 2 and
	    .closed.protocol >= 1 and .auth.ok >= 10 and
	    .closed.replaced >= 1 and
	    .frames.peer_present >= 4 and .frames.peer_gone >= 3' forward
}
forward_cleanup()
{
	relay_cleanup
}

atf_test_case malformed cleanup
malformed_head()
{
	atf_set descr "garbage, an oversized frame header, frames with bad" \
	    "lengths or of the relay's own types close only that client" \
	    "while two others keep exchanging"
	atf_set require.user root
	atf_set timeout 180
}
malformed_body()
{
	common
	relay_setup
	rtoken a
	rtoken b
	rtoken c
	worker=$(pgrep -P "$(cat edge.pid)")
	exch_start a b ab
	for kind in garbage oversized badlen shortsend relayframe; do
		for tok in "" c.jwt; do
			rcli hostile "$kind" ${tok:+-t $tok} > h.json ||
			    atf_fail "relaycli hostile $kind"
			jq -e '.closed' h.json >/dev/null ||
			    atf_fail "$kind ${tok:+after AUTH }was not closed:" \
			    "$(cat h.json)"
			exch_progress ab "after $kind ${tok:+after AUTH}"
		done
	done
	exch_stop ab
	[ "$(pgrep -P "$(cat edge.pid)")" = "$worker" ] ||
	    atf_fail "the relay worker changed"
	counters '.closed.malformed >= 8 and .closed.protocol >= 1' malformed
}
malformed_cleanup()
{
	relay_cleanup
}

atf_test_case slow_reader cleanup
slow_reader_head()
{
	atf_set descr "a client that never reads loses its own packets" \
	    "(counted) while two others keep exchanging"
	atf_set require.user root
	atf_set timeout 180
}
slow_reader_body()
{
	common
	relay_setup "relay_queue: 131072"
	rtoken a
	rtoken b
	rtoken s
	rtoken f
	exch_start a b ab
	rcli slow s.jwt -o "$PWD/s.ready" -s "$PWD/s.stop" > s.out 2>&1 &
	cb_until $WAIT_SECS test -s s.ready || atf_fail "the slow reader" \
	    "did not connect: $(cat s.out)"
	rcli flood f.jwt "$(cat s.pub)" -s "$PWD/f.stop" > f.json 2>&1 &
	cb_until 60 queue_drops ||
	    atf_fail "no packet for the slow reader was dropped:" \
	    "$(health .drops)"
	# The flood goes on; a and b are not held up by it.
	exch_progress ab "while the slow reader's queue is full"
	queue_drops || atf_fail "no drops"
	touch f.stop
	cb_until $WAIT_SECS jq -e .sent f.json || atf_fail "the flood did" \
	    "not stop: $(cat f.json)"
	exch_progress ab "after the flood"
	touch s.stop
	exch_stop ab
	counters '.drops.queue_full > 0 and .frames.forwarded > 0' \
	    "slow reader"
}
slow_reader_cleanup()
{
	relay_cleanup
}

queue_drops()
{
	[ "$(health .drops.queue_full)" -gt 0 ] 2>/dev/null
}

atf_test_case conn_flood cleanup
conn_flood_head()
{
	atf_set descr "connections beyond the cap, and TLS handshakes beyond" \
	    "theirs, are refused while existing clients keep exchanging"
	atf_set require.user root
	atf_set timeout 180
}
conn_flood_body()
{
	common
	relay_setup "relay_max_connections: 6
relay_max_handshakes: 3"
	rtoken a
	rtoken b
	rtoken c
	exch_start a b ab
	# 20 TLS connections: 4 fit beside a and b, the rest are refused.
	rcli connflood -n 20 --tls -o "$PWD/cf.ready" -s "$PWD/cf.stop" \
	    > cf.json 2>&1 &
	cb_until 60 test -s cf.ready || atf_fail "connflood: $(cat cf.json)"
	jq -e '.held <= 4 and .refused >= 16' cf.ready >/dev/null ||
	    atf_fail "the connection cap: $(cat cf.ready)"
	exch_progress ab "during the connection flood"
	counters '.refused.connections >= 16' "connection cap"
	touch cf.stop
	cb_until $WAIT_SECS rcli_auth_ok c.jwt ||
	    atf_fail "no connection after the flood: $(cat auth.json)"

	# Idle TCP connections hold handshake slots: 3 fit, the rest go.
	rcli connflood -n 10 -o "$PWD/hf.ready" -s "$PWD/hf.stop" \
	    > hf.json 2>&1 &
	cb_until 60 test -s hf.ready || atf_fail "connflood: $(cat hf.json)"
	jq -e '.held <= 3 and .refused >= 7' hf.ready >/dev/null ||
	    atf_fail "the handshake cap: $(cat hf.ready)"
	exch_progress ab "during the handshake flood"
	counters '.refused.handshakes >= 7' "handshake cap"
	touch hf.stop
	cb_until $WAIT_SECS rcli_auth_ok c.jwt ||
	    atf_fail "no connection after the flood: $(cat auth.json)"
	exch_stop ab
}
conn_flood_cleanup()
{
	relay_cleanup
}

rcli_auth_ok()
{
	rcli auth "$1" > auth.json && jq -e '.result == "ok"' auth.json
}

atf_test_case long_poll cleanup
long_poll_head()
{
	atf_set descr "a relay flood does not delay a registry long poll:" \
	    "it answers a registry change within 5 s while the flood runs"
	atf_set require.user root
	atf_set timeout 180
}
long_poll_body()
{
	common
	relay_setup
	rtoken p
	rtoken q
	for n in a b c d; do
		rtoken "$n"
	done
	ereq -t p.jwt -d '{"hostname": "p", "listen_port": 51820,
	    "address": "10.99.0.11/24"}' POST /v1/register > r.json
	jq -e '.status == 200' r.json >/dev/null || atf_fail "$(cat r.json)"
	v=$(ereq -t p.jwt GET /v1/peers | jq .body.version)
	# Not through ereq: $! must be the client itself.
	ip netns exec "$C" env EDGE="$EDGE_IP:8443" EDGE_CA="$PWD/ca.crt" \
	    python3 "$ECLI" req -t p.jwt GET "/v1/peers?since=$v&wait=30" \
	    > poll.json &
	cb_until $WAIT_SECS long_polls 1 || atf_fail "no long poll waiting"

	# Two pairs of clients send to each other as fast as they can.
	rcli blast a.jwt b.jwt --seconds 25 > blast1.json 2>&1 &
	b1=$!
	rcli blast c.jwt d.jwt --seconds 25 > blast2.json 2>&1 &
	b2=$!
	f0=$(health .frames.forwarded)
	cb_until $WAIT_SECS forwarding_more_than $((f0 + 10000)) ||
	    atf_fail "the flood did not start: $(health .frames)"
	[ ! -s poll.json ] || atf_fail "the poll answered before the" \
	    "change: $(cat poll.json)"
	ereq -t q.jwt -d '{"hostname": "q", "listen_port": 51820,
	    "address": "10.99.0.12/24"}' POST /v1/register > r.json
	jq -e '.status == 200' r.json >/dev/null || atf_fail "$(cat r.json)"
	cb_until 5 jq -e .status poll.json ||
	    atf_fail "the long poll did not answer within 5 s of the change"
	jq -e '.status == 200 and ([.body.peers[].hostname] == ["q"])' \
	    poll.json >/dev/null || atf_fail "poll: $(cat poll.json)"
	# The flood was still running when the poll answered.
	f1=$(health .frames.forwarded)
	cb_until $WAIT_SECS forwarding_more_than "$f1" ||
	    atf_fail "the flood had stopped"
	wait $b1 $b2
	cat blast1.json blast2.json
	jq -se 'all(.[]; .received > 0)' blast1.json blast2.json \
	    >/dev/null || atf_fail "blast: $(cat blast1.json blast2.json)"
}
long_poll_cleanup()
{
	relay_cleanup
}

long_polls()
{
	[ "$(ereq GET /v1/health | jq .body.long_polls)" = "$1" ]
}

forwarding_more_than()
{
	[ "$(health .frames.forwarded)" -gt "$1" ]
}

atf_test_case keepalive cleanup
keepalive_head()
{
	atf_set descr "KEEPALIVE after relay_keepalive seconds of silence;" \
	    "a client silent for three intervals is closed, one whose" \
	    "token expires too"
	atf_set require.user root
	atf_set timeout 120
}
keepalive_body()
{
	common
	relay_setup "relay_keepalive: 1"
	rtoken a
	now=$(date +%s)
	rtoken e mesh-1 ".exp = $((now + 15))"
	rcli keepalive a.jwt --wait 30 > ka.json
	jq -e '.keepalive != null and .closed != null and
	    (.error | test("silent"))' ka.json >/dev/null ||
	    atf_fail "keepalive: $(cat ka.json)"
	# Sending keepalives itself, it is never silent: its token ends it.
	rcli keepalive e.jwt --send --wait 40 > exp.json
	jq -e '.closed != null and (.error | test("expired"))' exp.json \
	    >/dev/null || atf_fail "token expiry: $(cat exp.json)"
	counters '.frames.keepalives >= 1 and .closed.silent >= 1 and
	    .closed.expired >= 1' keepalive
}
keepalive_cleanup()
{
	relay_cleanup
}

# stop_edge SIGNAL PID: send it, wait for cbedged to exit; its status
# is left in rc.
stop_edge()
{
	kill "-$1" "$2"
	cb_wait_exit "$(cat edge.pid)" 10 ||
	    atf_fail "cbedged did not exit within 10 s of SIG$1"
	wait "$(cat edge.pid)"
	rc=$?
	rm -f edge.pid
}

atf_test_case restart cleanup
restart_head()
{
	atf_set descr "SIGTERM: clients get RESTARTING and cbedged exits 0;" \
	    "a relay worker that dies stops cbedged with an error and why"
	atf_set require.user root
	atf_set timeout 120
}
restart_body()
{
	common
	relay_setup
	rtoken a
	rcli restarting a.jwt -o "$PWD/rs.ready" > rs.json 2>&1 &
	cb_until $WAIT_SECS test -s rs.ready || atf_fail "$(cat rs.json)"
	worker=$(pgrep -P "$(cat edge.pid)")
	stop_edge TERM "$(cat edge.pid)"
	[ $rc = 0 ] || { cat edge.log; atf_fail "SIGTERM: exit status $rc"; }
	cb_until $WAIT_SECS jq -e . rs.json || atf_fail "no RESTARTING"
	jq -e '.restarting and .reconnect_ms == 1000 and .closed' rs.json \
	    >/dev/null || atf_fail "RESTARTING: $(cat rs.json)"
	! kill -0 "$worker" 2>/dev/null || atf_fail "the worker outlived" \
	    "cbedged"

	# The worker killed: cbedged says so and exits non-zero.
	mv edge.log edge1.log
	cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT"
	cb_until $WAIT_SECS relay_running || atf_fail "no relay"
	kill -KILL "$(pgrep -P "$(cat edge.pid)")"
	cb_wait_exit "$(cat edge.pid)" 10 ||
	    atf_fail "cbedged did not exit when its worker died"
	wait "$(cat edge.pid)"
	rc=$?
	[ $rc != 0 ] || atf_fail "exit status 0 after the worker died"
	grep -q "relay worker terminated by signal 9" edge.log ||
	    { cat edge.log; atf_fail "no log line saying why"; }

	# SIGTERM to the worker alone: a clean stop of both.
	mv edge.log edge2.log
	cb_edge_start "relay_listen: $EDGE_IP:$RELAY_PORT"
	cb_until $WAIT_SECS relay_running || atf_fail "no relay"
	stop_edge TERM "$(pgrep -P "$(cat edge.pid)")"
	[ $rc = 0 ] || { cat edge.log; atf_fail "worker SIGTERM: status $rc"; }
	grep -q "relay worker stopped on a signal" edge.log ||
	    { cat edge.log; atf_fail "no log line"; }
}
restart_cleanup()
{
	relay_cleanup
}

atf_test_case sandbox cleanup
sandbox_head()
{
	atf_set descr "the relay worker is unprivileged, chrooted, under" \
	    "seccomp; cbedged.yaml's relay keys are checked"
	atf_set require.user root
	atf_set timeout 60
}
sandbox_body()
{
	common
	relay_setup
	for pid in "$(cat edge.pid)" "$(pgrep -P "$(cat edge.pid)")"; do
		uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
		[ "$uid" = "$(id -u _cbp2p)" ] || atf_fail "$pid runs as uid $uid"
		grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" ||
		    atf_fail "$pid: no seccomp filter"
		grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" ||
		    atf_fail "$pid: no no_new_privs"
		[ "$(readlink "/proc/$pid/root")" = "$PWD/empty" ] ||
		    atf_fail "$pid: not chrooted"
		[ "$(stat -c %u "/proc/$pid/status")" = 0 ] ||
		    atf_fail "$pid is dumpable"
	done
	tr '\0' ' ' < "/proc/$(pgrep -P "$(cat edge.pid)")/cmdline" |
	    grep -q "relay" || atf_fail "the worker's title"
	rtoken a
	rtoken b
	rcli pair a.jwt b.jwt -n 5 > pair.json
	jq -e '.ok == 5' pair.json >/dev/null || atf_fail "$(cat pair.json)"
	# TLS 1.3 only, as the registry.
	ip netns exec "$C" env EDGE="$EDGE_IP:$RELAY_PORT" \
	    EDGE_CA="$PWD/ca.crt" python3 "$ECLI" tls12 ||
	    atf_fail "a TLS 1.2 client was served by the relay"
	counters '.closed.tls >= 1' tls

	"$OBJ/cbedged" -n -f edge.yaml 2>&1 | grep -q "configuration OK" ||
	    atf_fail "cbedged -n"
	for bad in "relay_queue: 1000" "relay_keepalive: 61" \
	    "relay_max_connections: 0" "relay_send_burst: 100" \
	    "relay_listen: relay.example:443" "relay_listen: $EDGE_IP:8443"; do
		key=${bad%%:*}
		{ grep -v "^$key:" edge.yaml; echo "$bad"; } > bad.yaml
		atf_check -s exit:1 -e match:"$key" "$OBJ/cbedged" -n \
		    -f bad.yaml
	done
}
sandbox_cleanup()
{
	relay_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case auth
	atf_add_test_case forward
	atf_add_test_case malformed
	atf_add_test_case slow_reader
	atf_add_test_case conn_flood
	atf_add_test_case long_poll
	atf_add_test_case keepalive
	atf_add_test_case restart
	atf_add_test_case sandbox
}
