#! /usr/bin/atf-sh
# cbedged end to end: the registry over HTTPS (doc/registry.md), its
# refusals, limits and TLS, the STUN responder, and its sandbox.
# cbedged runs in namespace E (10.201.0.1); clients run in namespace C
# (10.201.0.2, and 10.201.0.3 for floods).

EDGE_ADDR=10.201.0.1
EDGE_ADDR6=fd00:201::1
EDGE_PORT=8443
STUN_PORT=3478

common()
{
	. "$(atf_get_srcdir)/common.sh"
	CBEDGED=$OBJ/cbedged
	CLI="$(atf_get_srcdir)/edgecli.py"
}

# A test CA and a server certificate for the edge's address.
edge_certs()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout ca.key -out ca.crt -days 2 \
	    -subj /CN=cbp2p-test-ca >/dev/null 2>&1 || atf_fail "CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout edge.key -out edge.csr -subj "/CN=$EDGE_ADDR" \
	    >/dev/null 2>&1 || atf_fail "server key"
	printf 'subjectAltName=IP:%s,IP:%s\n' "$EDGE_ADDR" "$EDGE_ADDR6" \
	    > san.ext
	openssl x509 -req -in edge.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out edge.crt -days 2 -extfile san.ext \
	    >/dev/null 2>&1 || atf_fail "server certificate"
	chmod 600 edge.key ca.key
}

# edge_conf [EXTRA-YAML]: edge.yaml
edge_conf()
{
	mkdir -p "$PWD/empty"
	chmod 755 "$PWD/empty"
	cat > edge.yaml <<YAML
# cbedged test configuration
listen: "${LISTEN:-$EDGE_ADDR}:$EDGE_PORT"
stun_listen: "${LISTEN:-$EDGE_ADDR}:$STUN_PORT"
certificate: $PWD/edge.crt
key: $PWD/edge.key
verify_key: $PWD/keys/es256.pub
verify_alg: ES256
issuer: cbp2p-test
user: _cbp2p
chroot: $PWD/empty
log_level: debug
${1:-rate: 1000
burst: 2000}
YAML
}

# edge_setup [EXTRA-YAML]: namespaces, keys, certificates, cbedged.
edge_setup()
{
	cb_user
	cb_issuer_keys keys
	E=$(cb_ns e)
	C=$(cb_ns c)
	cb_veth "$E" $EDGE_ADDR/24 "$C" 10.201.0.2/24
	ip -n "$C" addr add 10.201.0.3/24 dev eth0
	ip -n "$E" addr add $EDGE_ADDR6/64 dev eth0 nodad
	ip -n "$C" addr add fd00:201::2/64 dev eth0 nodad
	edge_certs
	edge_conf "${1:-}"
	edge_start
}

edge_start()
{
	ip netns exec "$E" "$CBEDGED" -d -f "$PWD/edge.yaml" \
	    > edge.log 2>&1 &
	echo $! > edge.pid
	end=$(cb_deadline $WAIT_SECS)
	until ereq GET /v1/health 2>/dev/null | grep -q '"status": 200'; do
		if ! kill -0 "$(cat edge.pid)" 2>/dev/null; then
			cat edge.log
			atf_fail "cbedged exited during start-up"
		fi
		cb_before $end || { cat edge.log; atf_fail "cbedged did not \
answer in $WAIT_SECS s"; }
		sleep 0.1
	done
}


# SIGTERM: cbedged must exit 0, within 5 s (a long poll still waiting
# must not hold it up).
edge_stop()
{
	pid=$(cat edge.pid)
	kill -0 "$pid" || { cat edge.log; atf_fail "cbedged died"; }
	kill -TERM "$pid"
	cb_wait_exit "$pid" 5 || atf_fail "SIGTERM did not stop cbedged in 5 s"
	wait "$pid"
	rc=$?
	[ $rc = 0 ] || { cat edge.log; atf_fail "cbedged exited with $rc"; }
	grep -q "exiting" edge.log || atf_fail "no exit log line"
}

edge_cleanup()
{
	. "$(atf_get_srcdir)/common.sh"
	[ -f edge.pid ] && kill -9 "$(cat edge.pid)" 2>/dev/null
	[ -f poll.pid ] && kill -9 "$(cat poll.pid)" 2>/dev/null
	[ -f polls.pid ] && kill -9 $(cat polls.pid) 2>/dev/null
	cb_ns_cleanup
}

# ereq [-s SRC] [-t TOKEN] [-d BODY] METHOD PATH: one request from C.
ereq()
{
	ip netns exec "$C" env EDGE="${EDGE_HOST:-$EDGE_ADDR}:$EDGE_PORT" \
	    EDGE_CA="$PWD/ca.crt" python3 "$CLI" req "$@"
}

# expect STATUS ereq-ARGS: the status must match; a refusal must carry
# a JSON {"error": "..."}.  The reply is left in last.json.
expect()
{
	want=$1
	shift
	ereq "$@" > last.json || atf_fail "edgecli: $*"
	got=$(jq -r .status last.json)
	if [ "$got" != "$want" ]; then
		cat last.json
		tail -20 edge.log
		atf_fail "$* answered $got, expected $want"
	fi
	if [ "$want" != 200 ]; then
		jq -e '(.body.error | type) == "string" and
		    (.ctype | startswith("application/json"))' last.json \
		    >/dev/null || { cat last.json; atf_fail "$*: no JSON \
error"; }
	fi
}

# reg_token NAME [MESH] [EXTRA-CLAIMS]: WireGuard keys and NAME.jwt, a
# registry token signed by the issuer's ES256 key (or $SIGNER).
reg_token()
{
	name=$1 mesh=${2:-mesh-1} extra=${3:-}
	[ -f "$name.pub" ] || cb_wgkeys "$name"
	now=$(date +%s)
	cat > "$name.rclaims" <<JSON
{"iss": "cbp2p-test", "sub": "$name", "exp": $((now + 3600)),
 "token_use": "registry", "public_key": "$(cat "$name.pub")",
 "mesh": "$mesh"$extra}
JSON
	"$CBP2PCTL" token -a ES256 -k "${SIGNER:-keys/es256.key}" \
	    "$name.rclaims" > "$name.jwt" || atf_fail "token for $name"
}

# reg_body NAME N: a registration body for node N of the mesh.
reg_body()
{
	printf '{"hostname": "%s", "listen_port": 51820, ' "$1"
	printf '"endpoints": ["192.0.2.%s:51820"], ' "$2"
	printf '"address": "10.99.0.%s/24", "allowed_ips": ["10.99.0.%s/32"]}' \
	    "$2" "$2"
}

register()
{
	expect 200 -t "$1.jwt" -d "$(reg_body "$1" "$2")" POST /v1/register
}

# hostnames NAME: the hostnames NAME sees, sorted, one line.
hostnames()
{
	ereq -t "$1.jwt" GET /v1/peers |
	    jq -r '[.body.peers[].hostname] | sort | join(",")'
}

health()
{
	ereq GET /v1/health | jq -r ".body$1"
}

# polls_waiting N: N long polls are waiting at the edge.
polls_waiting()
{
	[ "$(health .long_polls)" = "$1" ]
}

atf_test_case registry cleanup
registry_head()
{
	atf_set descr "register, list, heartbeat, long poll, leave, SIGTERM"
	atf_set require.user root
	atf_set timeout 120
}
registry_body()
{
	common
	edge_setup
	reg_token a
	reg_token b
	reg_token c
	reg_token x other-mesh
	register a 2
	register b 3
	register x 9
	[ "$(hostnames a)" = b ] || atf_fail "a sees $(hostnames a)"
	[ "$(hostnames b)" = a ] || atf_fail "b sees $(hostnames b)"
	[ "$(hostnames x)" = "" ] || atf_fail "meshes leak: $(hostnames x)"
	expect 200 -t a.jwt GET /v1/peers
	jq -e --arg k "$(cat b.pub)" '.body.peers[0] |
	    .public_key == $k and .listen_port == 51820 and
	    .endpoints == ["192.0.2.3:51820"] and .address == "10.99.0.3/24"
	    and .allowed_ips == ["10.99.0.3/32"]' last.json >/dev/null ||
	    { cat last.json; atf_fail "b's entry is not what b registered"; }
	[ "$(health .registrations)" = 3 ] || atf_fail "registrations"
	[ "$(health .meshes)" = 2 ] || atf_fail "meshes"

	# Heartbeats: an empty one keeps the version, new endpoints bump it.
	v=$(ereq -t a.jwt GET /v1/peers | jq .body.version)
	expect 200 -t a.jwt -d '{}' POST /v1/heartbeat
	[ "$(jq .body.version last.json)" = "$v" ] || atf_fail "version moved"
	[ "$(jq .body.ttl last.json)" = 90 ] || atf_fail "ttl"
	expect 200 -t b.jwt -d '{"endpoints": ["198.51.100.3:4000"]}' \
	    POST /v1/heartbeat
	[ "$(jq .body.version last.json)" -gt "$v" ] || atf_fail "no bump"
	expect 200 -t a.jwt GET /v1/peers
	jq -e '.body.peers[0].endpoints == ["198.51.100.3:4000"]' last.json \
	    >/dev/null || atf_fail "new endpoints not listed"

	# A long poll returns at once when c registers: within 5 s of the
	# registration's answer, and long before its own 30 s run out (its
	# elapsed time also counts its start-up and c's registration).
	v=$(ereq -t a.jwt GET /v1/peers | jq .body.version)
	ereq -t a.jwt GET "/v1/peers?since=$v&wait=30" > poll.json &
	echo $! > poll.pid
	cb_until $WAIT_SECS polls_waiting 1 ||
	    atf_fail "the long poll is not waiting"
	register c 4
	cb_until 5 jq -e .status poll.json ||
	    atf_fail "the long poll did not wake up"
	jq -e --argjson v "$v" '.status == 200 and .body.version > $v and
	    ([.body.peers[].hostname] | sort) == ["b", "c"] and
	    .elapsed < 25' poll.json >/dev/null ||
	    { cat poll.json; atf_fail "long poll answer"; }

	# A long poll with nothing new runs out after wait seconds.
	v=$(ereq -t a.jwt GET /v1/peers | jq .body.version)
	expect 200 -t a.jwt GET "/v1/peers?since=$v&wait=1"
	jq -e --argjson v "$v" '.body.version == $v and .elapsed >= 0.9' \
	    last.json >/dev/null || { cat last.json; atf_fail "wait=1"; }
	# A stale since answers at once, not after its 30 s.
	expect 200 -t a.jwt GET "/v1/peers?since=1&wait=30"
	jq -e '.elapsed < 20' last.json >/dev/null ||
	    { cat last.json; atf_fail "stale since"; }

	# Leave: b is gone for the others; its heartbeat is then 404.
	expect 200 -t b.jwt DELETE /v1/peers/self
	[ "$(hostnames a)" = c ] || atf_fail "after leave a sees $(hostnames a)"
	expect 404 -t b.jwt -d '{}' POST /v1/heartbeat
	expect 200 -t b.jwt DELETE /v1/peers/self

	# A long poll whose client goes away times out harmlessly; one
	# still waiting at SIGTERM does not hold up the exit.
	v=$(ereq -t a.jwt GET /v1/peers | jq .body.version)
	ereq -t c.jwt GET "/v1/peers?since=$v&wait=30" > poll.json &
	echo $! > poll.pid
	cb_until $WAIT_SECS polls_waiting 1 ||
	    atf_fail "the long poll is not waiting"
	# Not through ereq: a background function runs in a subshell, and
	# killing that would leave the client running.  Here $! is the
	# client itself.
	ip netns exec "$C" env EDGE="$EDGE_ADDR:$EDGE_PORT" \
	    EDGE_CA="$PWD/ca.crt" python3 "$CLI" req -t a.jwt GET \
	    "/v1/peers?since=$v&wait=8" > gone.json &
	gone=$!
	cb_until $WAIT_SECS polls_waiting 2 ||
	    atf_fail "the second long poll is not waiting"
	kill "$gone"
	wait "$gone"
	[ ! -s gone.json ] || { cat gone.json; atf_fail "the 8 s poll" \
	    "answered before its client was killed"; }
	# Its 8 s run out; the 30 s one is still there.
	cb_until 15 polls_waiting 1 || atf_fail "a gone poll stayed"
	[ ! -s poll.json ] || { cat poll.json; atf_fail "the 30 s poll" \
	    "answered before SIGTERM"; }
	edge_stop
}
registry_cleanup()
{
	edge_cleanup
}

atf_test_case expiry cleanup
expiry_head()
{
	atf_set descr "a node that stops heartbeating expires no earlier" \
	    "than the ttl and no later than the ttl plus a margin"
	atf_set require.user root
	atf_set timeout 90
}
expiry_body()
{
	common
	# The bound: a registration not refreshed lives ttl seconds, then
	# goes at the next expiry sweep (once a second, EDGE_SWEEP_MS), so
	# it is gone before ttl + 1 s.  The test allows MARGIN = 3 s: the
	# sweep's second and two for scheduling and for seeing it go.  One
	# client does all of it over one connection (edgecli.py expiry), so
	# no process start-up races the ttl.
	ttl=5
	margin=3
	edge_setup "ttl: $ttl
rate: 1000
burst: 2000"
	reg_token a
	reg_token b
	ip netns exec "$C" env EDGE="$EDGE_ADDR:$EDGE_PORT" \
	    EDGE_CA="$PWD/ca.crt" python3 "$CLI" expiry -t $ttl \
	    -a a.jwt -A "$(reg_body a 2)" -b b.jwt -B "$(reg_body b 3)" \
	    > expiry.json || { cat expiry.json; atf_fail "edgecli expiry"; }
	cat expiry.json
	jq -e '.error == null' expiry.json >/dev/null ||
	    atf_fail "$(jq -r .error expiry.json)"
	jq -e '.gone_by != null' expiry.json >/dev/null ||
	    atf_fail "b did not expire"
	# No earlier than the ttl: no read before it missed b, and b was
	# seen alive within a second of it.
	jq -e '.early == false' expiry.json >/dev/null ||
	    atf_fail "b was gone $(jq .gone_by expiry.json) s after it" \
	    "registered, before the ttl of $ttl s"
	jq -e --argjson t $ttl '.alive_until >= $t - 1' expiry.json \
	    >/dev/null || atf_fail "b was last seen alive" \
	    "$(jq .alive_until expiry.json) s after it registered: too few" \
	    "reads to bound the expiry from below"
	# No later than ttl + margin.
	jq -e --argjson t $ttl --argjson m $margin '.gone_by <= $t + $m' \
	    expiry.json >/dev/null ||
	    atf_fail "b was gone only $(jq .gone_by expiry.json) s after it" \
	    "registered, later than ttl $ttl s + $margin s"
	jq -e '.version_after > .version_registered' expiry.json \
	    >/dev/null || atf_fail "expiry did not bump the version"
	jq -e '.peers_after == []' expiry.json >/dev/null ||
	    atf_fail "a still sees $(jq -c .peers_after expiry.json)"
	# a, kept alive by its heartbeats, is still there; b is not.
	jq -e '.b_heartbeat == 404 and .a_heartbeat == 200 and
	    .registrations == 1' expiry.json >/dev/null ||
	    atf_fail "after the expiry: b's heartbeat, a's, registrations"
	grep -q "expired 1 registration" edge.log || atf_fail "no log line"
}
expiry_cleanup()
{
	edge_cleanup
}

atf_test_case refusals cleanup
refusals_head()
{
	atf_set descr "bad input gets the right 4xx, JSON, counted, no change"
	atf_set require.user root
	atf_set timeout 120
}
refusals_body()
{
	common
	edge_setup
	reg_token a
	reg_token b
	reg_token c
	register a 2
	register b 3
	ereq -t a.jwt GET /v1/peers | jq -S .body > before.json
	good=$(reg_body a 2)

	# Bodies.
	expect 400 -t a.jwt -d '{"hostname":' POST /v1/register
	expect 400 -t a.jwt -d '[1, 2]' POST /v1/register
	expect 400 -t a.jwt -d '{"hostname": "a", "listen_port": 70000,
	    "address": "10.99.0.2/24"}' POST /v1/register
	expect 400 -t a.jwt -d '{"hostname": "a", "listen_port": 1,
	    "address": "10.99.0.2/24", "endpoints": ["host.example:1"]}' \
	    POST /v1/register
	expect 400 -t a.jwt -d '{"hostname": "a", "listen_port": 1,
	    "address": "10.99.0.2/24", "allowed_ips": ["10.0.0.0/40"]}' \
	    POST /v1/register
	expect 400 -t a.jwt -d '{"hostname": "a", "listen_port": 1,
	    "address": "10.99.0.2/24", "admin": true}' POST /v1/register
	expect 400 -t a.jwt -d '{"endpoints": "1.2.3.4:5"}' POST /v1/heartbeat
	expect 413 -t a.jwt -z 20000 POST /v1/register
	# Far over the limit too, before the HTTP layer reads it.
	expect 413 -t a.jwt -z 200000 POST /v1/register
	# A body naming another node's key.
	expect 403 -t a.jwt -d "$(reg_body a 2 | sed "s|^{|{\"public_key\": \
\"$(cat b.pub)\", |")" POST /v1/register

	# Tokens.
	expect 401 -d "$good" POST /v1/register
	echo "not.a.jwt" > junk.jwt
	expect 401 -t junk.jwt -d "$good" POST /v1/register
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out other.key 2>/dev/null || atf_fail "openssl"
	cp a.pub o.pub
	SIGNER=other.key
	reg_token o
	SIGNER=
	expect 401 -t o.jwt -d "$good" POST /v1/register
	cp a.pub old.pub
	reg_token old mesh-1 ', "nbf": 1000'
	sed -i 's/"exp": [0-9]*/"exp": 1000/' old.rclaims
	"$CBP2PCTL" token -a ES256 -k keys/es256.key old.rclaims > old.jwt
	expect 401 -t old.jwt -d "$good" POST /v1/register
	jq -e '(.body.error | test("exp")) and .body.code == "token_expired"' \
	    last.json >/dev/null || atf_fail "expired token: $(cat last.json)"
	cp a.pub u.pub
	reg_token u
	sed -i 's/"registry"/"node"/' u.rclaims
	"$CBP2PCTL" token -a ES256 -k keys/es256.key u.rclaims > u.jwt
	expect 403 -t u.jwt -d "$good" POST /v1/register
	cb_wgkeys n
	cb_claims n p2p-mesh 10.99.0.7/24
	cb_token n ES256 keys
	expect 403 -t n.jwt -d "$good" POST /v1/register
	jq -e '.body.error | test("node token")' last.json >/dev/null ||
	    atf_fail "node token: $(cat last.json)"

	# Paths, methods, queries, state.
	expect 404 -t a.jwt DELETE "/v1/peers/$(cat b.pub)"
	expect 404 -t a.jwt GET /v1/nothing
	expect 404 GET /
	expect 405 -t a.jwt GET /v1/register
	expect 405 -t a.jwt PUT /v1/peers
	expect 405 -t a.jwt DELETE /v1/health
	expect 400 -t a.jwt GET "/v1/peers?since=1&wait=31"
	expect 400 -t a.jwt GET "/v1/peers?colour=red"
	expect 404 -t c.jwt -d '{}' POST /v1/heartbeat

	ereq -t a.jwt GET /v1/peers | jq -S .body > after.json
	cmp -s before.json after.json ||
	    { diff before.json after.json; atf_fail "refusals changed state"; }
	[ "$(health .registrations)" = 2 ] || atf_fail "registrations"
	ereq GET /v1/health > health.json
	jq -e '.body.refused | .bad_request >= 9 and .too_large >= 1 and
	    .bad_token >= 3 and .token_expired >= 1 and .forbidden >= 3 and .not_found >= 3 and
	    .bad_method >= 3 and .not_registered >= 1' health.json \
	    >/dev/null || { cat health.json; atf_fail "refusal counters"; }
	# The daemon survived all of it, sandbox and all, and exits cleanly.
	edge_stop
}
refusals_cleanup()
{
	edge_cleanup
}

atf_test_case token_expiry cleanup
token_expiry_head()
{
	atf_set descr "a registry token is checked on every request: past its exp, register, heartbeat and poll are refused with 401 token_expired"
	atf_set require.user root
	atf_set timeout 120
}
token_expiry_body()
{
	common
	edge_setup
	reg_token b
	register b 3
	# A token good for LIFE seconds: registered, heartbeats, polls ...
	LIFE=8
	reg_token a mesh-1
	sed -i "s/\"exp\": [0-9]*/\"exp\": $(($(date +%s) + LIFE))/" a.rclaims
	"$CBP2PCTL" token -a ES256 -k keys/es256.key a.rclaims > a.jwt ||
	    atf_fail "token"
	exp=$(jq .exp a.rclaims)
	register a 2
	expect 200 -t a.jwt -d '{}' POST /v1/heartbeat
	expect 200 -t a.jwt GET /v1/peers
	[ "$(date +%s)" -lt "$exp" ] || atf_skip "too slow to test before exp"
	# ... then, once exp is past, each is refused, the same token.
	while [ "$(date +%s)" -le "$exp" ]; do sleep 0.2; done
	for req in "-d {} POST /v1/heartbeat" "GET /v1/peers" \
	    "GET /v1/peers?since=0&wait=5"; do
		expect 401 -t a.jwt $req
		jq -e '.body.code == "token_expired" and
		    (.body.error | test("exp"))' last.json > /dev/null ||
		    atf_fail "$req: $(cat last.json)"
	done
	expect 401 -t a.jwt -d "$(reg_body a 2)" POST /v1/register
	jq -e '.body.code == "token_expired"' last.json > /dev/null ||
	    atf_fail "register: $(cat last.json)"
	# The others are served as before; the refusals are counted.
	expect 200 -t b.jwt -d '{}' POST /v1/heartbeat
	ereq GET /v1/health > health.json
	jq -e '.body.refused.token_expired == 4' health.json > /dev/null ||
	    { cat health.json; atf_fail "counter"; }
	edge_stop
}
token_expiry_cleanup()
{
	edge_cleanup
}

atf_test_case limits cleanup
limits_head()
{
	atf_set descr "peers per mesh, meshes, long polls: 409 and 429"
	atf_set require.user root
	atf_set timeout 90
}
limits_body()
{
	common
	edge_setup "max_peers_per_mesh: 2
max_meshes: 1
long_poll_max: 30
rate: 1000
burst: 2000"
	reg_token a
	reg_token b
	reg_token c
	reg_token x other-mesh
	register a 2
	register b 3
	ereq -t a.jwt GET /v1/peers | jq -S .body > before.json
	expect 409 -t c.jwt -d "$(reg_body c 4)" POST /v1/register
	jq -e '.body.error | test("full")' last.json >/dev/null ||
	    atf_fail "mesh full: $(cat last.json)"
	expect 409 -t x.jwt -d "$(reg_body x 9)" POST /v1/register
	# Registering again needs no room.
	register b 3
	# Long polls: at most long_polls_per_token (2) for a token, that
	# many times max_peers_per_mesh (4) in one mesh; c is in the mesh
	# without a registration.  They wait the longest allowed, 30 s, so
	# they outlast the requests below; that none has answered before
	# the change is checked.
	v=$(ereq -t a.jwt GET /v1/peers | jq .body.version)
	for i in 1 2 3 4; do
		t=a
		[ $i -le 2 ] || t=c
		ereq -t $t.jwt GET "/v1/peers?since=$v&wait=30" > "poll$i.json" &
		echo $! >> polls.pid
	done
	cb_until $WAIT_SECS polls_waiting 4 ||
	    atf_fail "the long polls are not waiting"
	expect 429 -t a.jwt GET "/v1/peers?since=$v&wait=30"
	jq -e '.body.code == "token_poll_limit"' last.json >/dev/null ||
	    atf_fail "token poll limit: $(cat last.json)"
	expect 429 -t b.jwt GET "/v1/peers?since=$v&wait=30"
	jq -e '.body.error | test("long polls")' last.json >/dev/null ||
	    atf_fail "poll limit: $(cat last.json)"
	ereq -t a.jwt GET /v1/peers | jq -S .body > after.json
	cmp -s before.json after.json || atf_fail "refusals changed state"
	ereq GET /v1/health > health.json
	jq -e '.body.refused | .mesh_full == 1 and .meshes_full == 1 and
	    .poll_limit == 1 and .token_poll_limit == 1' health.json \
	    >/dev/null || { cat health.json; atf_fail "counters"; }
	# A change answers all four at once: a's see nobody, c's see a.
	for n in 1 2 3 4; do
		[ ! -s "poll$n.json" ] || { cat "poll$n.json"; atf_fail \
		    "long poll $n answered before the change"; }
	done
	expect 200 -t b.jwt DELETE /v1/peers/self
	for n in 1 2 3 4; do
		cb_until 5 jq -e .status "poll$n.json" ||
		    atf_fail "long poll $n did not wake up"
		want=0
		[ $n -le 2 ] || want=1
		jq -e --argjson w $want '.status == 200 and
		    (.body.peers | length) == $w' "poll$n.json" \
		    >/dev/null || { cat "poll$n.json"; atf_fail "poll $n"; }
	done
	edge_stop
}
limits_cleanup()
{
	edge_cleanup
}

atf_test_case ratelimit cleanup
ratelimit_head()
{
	atf_set descr "a flood from one address gets 429, others do not"
	atf_set require.user root
	atf_set timeout 60
}
ratelimit_body()
{
	common
	# A token bucket of burst 10 refilled at 2 a second: in a flood
	# that lasts T seconds at most 10 + 2 T requests get through, and
	# at least the first 10 do, however fast the machine sends them.
	edge_setup "rate: 2
burst: 10"
	ip netns exec "$C" env EDGE=$EDGE_ADDR:$EDGE_PORT \
	    EDGE_CA="$PWD/ca.crt" python3 "$CLI" flood -s 10.201.0.3 -n 60 \
	    /v1/health > flood.json || atf_fail "flood"
	cat flood.json
	jq -e '."200" >= 10' flood.json >/dev/null ||
	    atf_fail "the burst was not served"
	# One token of slack for elapsed being rounded to the millisecond.
	jq -e '."200" <= 10 + 2 * .elapsed + 1' flood.json >/dev/null ||
	    atf_fail "more than the rate got through"
	jq -e '."429" >= 1' flood.json >/dev/null ||
	    atf_fail "the flood was not limited"
	# Another source is not affected.
	expect 200 -s 10.201.0.2 GET /v1/health
	jq -e --argjson n "$(jq '."429"' flood.json)" \
	    '.body.refused.rate_limited == $n' last.json >/dev/null ||
	    { cat last.json; atf_fail "rate_limited not counted"; }
}
ratelimit_cleanup()
{
	edge_cleanup
}

atf_test_case sandbox cleanup
sandbox_head()
{
	atf_set descr "TLS 1.3 only, unprivileged, chrooted, seccomp; -n"
	atf_set require.user root
	atf_set timeout 60
}
sandbox_body()
{
	common
	edge_setup
	ip netns exec "$C" env EDGE=$EDGE_ADDR:$EDGE_PORT \
	    EDGE_CA="$PWD/ca.crt" python3 "$CLI" tls12 ||
	    atf_fail "a TLS 1.2 client was served"
	pid=$(cat edge.pid)
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
	[ "$uid" = "$(id -u _cbp2p)" ] || atf_fail "runs as uid $uid"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" ||
	    atf_fail "no seccomp filter"
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" ||
	    atf_fail "no no_new_privs"
	[ "$(readlink "/proc/$pid/root")" = "$PWD/empty" ] ||
	    atf_fail "not chrooted"
	# Not dumpable (it holds the TLS key): its /proc/PID files are
	# root's, not _cbp2p's.  With fs.suid_dumpable 0 the uid change
	# alone does this too; cbedged also sets it before reading the key.
	[ "$(stat -c %u "/proc/$pid/status")" = 0 ] ||
	    atf_fail "cbedged is dumpable"
	# Still alive after serving: no system call outside the filter.
	expect 200 GET /v1/health
	kill -0 "$pid" || atf_fail "cbedged died"
	# SIGHUP does not reload, and does not stop it either.
	kill -HUP "$pid"
	cb_until 5 grep -q "does not reload" edge.log ||
	    atf_fail "no SIGHUP log line"
	expect 200 GET /v1/health

	atf_check -s exit:0 -e match:"configuration OK" \
	    "$CBEDGED" -n -f edge.yaml
	printf 'listen: 10.0.0.1:1\ncolour: red\n' > bad.yaml
	atf_check -s exit:1 -e match:"bad.yaml:2: colour: unknown key" \
	    "$CBEDGED" -n -f bad.yaml
	printf 'ttl: 0\n' > bad.yaml
	atf_check -s exit:1 -e match:"bad.yaml:1: ttl:" \
	    "$CBEDGED" -n -f bad.yaml
	printf 'listen: edge.example:1\n' > bad.yaml
	atf_check -s exit:1 -e match:"bad.yaml:1: listen:" \
	    "$CBEDGED" -n -f bad.yaml
	grep -v '^key:' edge.yaml > nokey.yaml
	atf_check -s exit:1 -e match:"key: required key missing" \
	    "$CBEDGED" -n -f nokey.yaml
}
sandbox_cleanup()
{
	edge_cleanup
}

atf_test_case stun cleanup
stun_head()
{
	atf_set descr "STUN Binding requests get the sender's address"
	atf_set require.user root
	atf_set timeout 60
}
stun_body()
{
	common
	edge_setup
	for i in 1 2 3; do
		ip netns exec "$C" python3 "$CLI" stun $EDGE_ADDR $STUN_PORT \
		    > stun.out || { cat stun.out; atf_fail "STUN answer"; }
	done
	ip netns exec "$C" python3 "$CLI" garbage $EDGE_ADDR $STUN_PORT ||
	    atf_fail "junk on the STUN port was answered"
	# The second port (the first + 1 by default) answers too, and each
	# names the other in ALT-PORT.
	grep -q " alt $((STUN_PORT + 1))\$" stun.out ||
	    { cat stun.out; atf_fail "no ALT-PORT naming the second port"; }
	ip netns exec "$C" python3 "$CLI" stun $EDGE_ADDR $((STUN_PORT + 1)) \
	    > stun.out || { cat stun.out; atf_fail "STUN on the second port"; }
	grep -q " alt $STUN_PORT\$" stun.out ||
	    { cat stun.out; atf_fail "the second port does not name the first"; }
	ip netns exec "$C" python3 "$CLI" garbage $EDGE_ADDR \
	    $((STUN_PORT + 1)) || atf_fail "junk on the second port answered"
	ereq GET /v1/health > health.json
	jq -e ".body.stun.answered == 4 and .body.stun.refused >= 12 and
	    .body.stun.alt_port == $((STUN_PORT + 1))" \
	    health.json >/dev/null || { cat health.json; atf_fail "counters"; }
	kill -0 "$(cat edge.pid)" || atf_fail "cbedged died"

	# A chosen second port, or none; never the first.
	edge_stop
	edge_conf "stun_alt_port: $STUN_PORT"
	atf_check -s exit:1 -e match:"stun_alt_port: the port of stun_listen" \
	    "$CBEDGED" -n -f edge.yaml
	edge_conf "stun_alt_port: 0"
	edge_start
	ip netns exec "$C" python3 "$CLI" stun $EDGE_ADDR $STUN_PORT \
	    > stun.out || { cat stun.out; atf_fail "STUN answer"; }
	grep -q " alt 0\$" stun.out ||
	    { cat stun.out; atf_fail "ALT-PORT without a second port"; }
	ip netns exec "$C" python3 "$CLI" stun $EDGE_ADDR $((STUN_PORT + 1)) \
	    > stun.out 2>&1 && atf_fail "stun_alt_port 0, yet it answers"
	kill -0 "$(cat edge.pid)" || atf_fail "cbedged died"
}
stun_cleanup()
{
	edge_cleanup
}

atf_test_case ipv6 cleanup
ipv6_head()
{
	atf_set descr "listening on [::]: IPv6 and IPv4 clients, STUN both"
	atf_set require.user root
	atf_set timeout 60
}
ipv6_body()
{
	common
	LISTEN="[::]"
	edge_setup
	reg_token a
	reg_token b
	EDGE_HOST="[$EDGE_ADDR6]"
	expect 200 -t a.jwt -d '{"hostname": "a", "listen_port": 51820,
	    "endpoints": ["[2001:db8::2]:51820", "192.0.2.2:51820"],
	    "address": "fd00:99::2/64", "allowed_ips": ["fd00:99::2/128"]}' \
	    POST /v1/register
	EDGE_HOST=
	register b 3
	expect 200 -t b.jwt GET /v1/peers
	jq -e '.body.peers[0] | .endpoints[0] == "[2001:db8::2]:51820" and
	    .address == "fd00:99::2/64"' last.json >/dev/null ||
	    { cat last.json; atf_fail "IPv6 registration"; }
	for h in $EDGE_ADDR6 $EDGE_ADDR; do
		ip netns exec "$C" python3 "$CLI" stun "$h" $STUN_PORT \
		    > stun.out || { cat stun.out; atf_fail "STUN via $h"; }
	done
	edge_stop
}
ipv6_cleanup()
{
	edge_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case registry
	atf_add_test_case expiry
	atf_add_test_case refusals
	atf_add_test_case token_expiry
	atf_add_test_case limits
	atf_add_test_case ratelimit
	atf_add_test_case sandbox
	atf_add_test_case stun
	atf_add_test_case ipv6
}
