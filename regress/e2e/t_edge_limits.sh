#! /usr/bin/atf-sh
# Two limits of cbedged(8) tested end to end: STUN requests per source
# address (the same rate and burst as HTTPS), and the addresses a
# registry token grants, enforced over HTTPS with 403.  cbedged runs in
# namespace E (10.202.0.1); clients in namespace C (10.202.0.2, .3).

EDGE_ADDR=10.202.0.1
EDGE_PORT=8443
STUN_PORT=3478

common()
{
	. "$(atf_get_srcdir)/common.sh"
	CLI="$(atf_get_srcdir)/edgecli.py"
}

# edge_up EXTRA-YAML: namespaces, a CA and certificate, cbedged.
edge_up()
{
	cb_user
	cb_issuer_keys keys
	E=$(cb_ns e)
	C=$(cb_ns c)
	cb_veth "$E" $EDGE_ADDR/24 "$C" 10.202.0.2/24
	ip -n "$C" addr add 10.202.0.3/24 dev eth0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout ca.key -out ca.crt -days 2 \
	    -subj /CN=cbp2p-test-ca >/dev/null 2>&1 || atf_fail "CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout edge.key -out edge.csr -subj "/CN=$EDGE_ADDR" \
	    >/dev/null 2>&1 || atf_fail "server key"
	printf 'subjectAltName=IP:%s\n' "$EDGE_ADDR" > san.ext
	openssl x509 -req -in edge.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out edge.crt -days 2 -extfile san.ext \
	    >/dev/null 2>&1 || atf_fail "server certificate"
	chmod 600 edge.key ca.key
	mkdir -p "$PWD/empty"
	chmod 755 "$PWD/empty"
	cat > edge.yaml <<YAML
listen: "$EDGE_ADDR:$EDGE_PORT"
stun_listen: "$EDGE_ADDR:$STUN_PORT"
certificate: $PWD/edge.crt
key: $PWD/edge.key
verify_key: $PWD/keys/es256.pub
verify_alg: ES256
issuer: cbp2p-test
user: _cbp2p
chroot: $PWD/empty
log_level: debug
$1
YAML
	ip netns exec "$E" "$OBJ/cbedged" -d -f "$PWD/edge.yaml" \
	    > edge.log 2>&1 &
	echo $! > edge.pid
	until_health
}

# Wait until the edge answers its health check.
until_health()
{
	end=$(cb_deadline $WAIT_SECS)
	until ereq GET /v1/health 2>/dev/null | grep -q '"status": 200'; do
		kill -0 "$(cat edge.pid)" 2>/dev/null ||
		    { cat edge.log; atf_fail "cbedged exited during start-up"; }
		cb_before $end ||
		    { cat edge.log; atf_fail "cbedged did not answer"; }
		sleep 0.1
	done
}

edge_down()
{
	common
	[ -f edge.pid ] && kill -9 "$(cat edge.pid)" 2>/dev/null
	cb_ns_cleanup
}

# ereq [-s SRC] [-t TOKEN] [-d BODY] METHOD PATH: one HTTPS request.
ereq()
{
	ip netns exec "$C" env EDGE="$EDGE_ADDR:$EDGE_PORT" \
	    EDGE_CA="$PWD/ca.crt" python3 "$CLI" req "$@"
}

# expect STATUS ereq-ARGS: the reply (in last.json) has that status,
# and a refusal a JSON {"error": "..."}.
expect()
{
	want=$1
	shift
	ereq "$@" > last.json || atf_fail "edgecli: $*"
	got=$(jq -r .status last.json)
	[ "$got" = "$want" ] ||
	    { cat last.json; atf_fail "$* answered $got, expected $want"; }
	[ "$want" = 200 ] || jq -e '(.body.error | type) == "string"' \
	    last.json > /dev/null || atf_fail "$*: no JSON error"
}

health()
{
	ereq GET /v1/health | jq -r ".body$1"
}

atf_test_case stun_limit cleanup
stun_limit_head()
{
	atf_set descr "STUN requests from one address are limited to the rate and burst; another address is served"
	atf_set require.user root
	atf_set timeout 60
}
stun_limit_body()
{
	common
	# A token bucket of burst 10 refilled at 2 a second, the HTTPS
	# requests' own (cbedged.yaml(5) rate, burst).
	edge_up "rate: 2
burst: 10"
	ip netns exec "$C" python3 - $EDGE_ADDR $STUN_PORT 10.202.0.3 \
	    > flood.json <<'PY' || atf_fail "STUN flood"
import json, os, select, socket, struct, sys, time
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Four ports of one address: the limit is the address's.
socks = []
for _ in range(4):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind((src, 0))
	socks.append(s)
sent = answered = 0
start = time.monotonic()
for i in range(100):
	s = socks[i % 4]
	s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + os.urandom(12),
	    (host, port))
	sent += 1
end = time.monotonic() + 1
while time.monotonic() < end:
	r, _, _ = select.select(socks, [], [], 0.1)
	for s in r:
		m = s.recv(2048)
		if len(m) >= 20 and m[:2] == b"\x01\x01":
			answered += 1
print(json.dumps({"sent": sent, "answered": answered,
    "elapsed": round(time.monotonic() - start, 3)}))
PY
	cat flood.json
	jq -e '.answered >= 10' flood.json > /dev/null ||
	    atf_fail "the burst was not answered"
	# One token of slack for the clock's rounding.
	jq -e '.answered <= 10 + 2 * .elapsed + 1' flood.json > /dev/null ||
	    atf_fail "more than the rate was answered"
	# Another address is not affected.
	ip netns exec "$C" python3 "$CLI" stun $EDGE_ADDR $STUN_PORT ||
	    atf_fail "10.202.0.2 was not answered"
	ereq GET /v1/health > health.json
	jq -c .body.stun health.json
	jq -e --slurpfile f flood.json '.body.stun.answered ==
	    $f[0].answered + 1 and .body.stun.refused ==
	    $f[0].sent - $f[0].answered' health.json > /dev/null ||
	    atf_fail "the STUN counters do not match what was sent"
	kill -0 "$(cat edge.pid)" || atf_fail "cbedged died"
}
stun_limit_cleanup()
{
	edge_down
}

# reg_token NAME EXTRA-CLAIMS: a registry token for a new key.
reg_token()
{
	cb_wgkeys "$1"
	cat > "$1.rclaims" <<JSON
{"iss": "cbp2p-test", "sub": "$1", "exp": $(($(date +%s) + 3600)),
 "token_use": "registry", "public_key": "$(cat "$1.pub")",
 "mesh": "mesh-1"$2}
JSON
	"$CBP2PCTL" token -a ES256 -k keys/es256.key "$1.rclaims" \
	    > "$1.jwt" || atf_fail "token for $1"
}

# body ADDRESS ALLOWED-JSON: a registration body.
body()
{
	printf '{"hostname": "n", "listen_port": 51820, "endpoints": ["192.0.2.2:51820"], "address": "%s", "allowed_ips": %s}' \
	    "$1" "$2"
}

atf_test_case token_grants cleanup
token_grants_head()
{
	atf_set descr "a registration claiming addresses the registry token does not grant gets 403 over HTTPS"
	atf_set require.user root
	atf_set timeout 60
}
token_grants_body()
{
	common
	edge_up "rate: 1000
burst: 2000"
	# a: the address 10.99.0.2/24, the allowed IPs 10.99.0.2/32 and
	# 10.99.1.0/24.  p: only the address.  w: watches the mesh.
	reg_token a ', "address": "10.99.0.2/24",
	    "allowed_ips": ["10.99.0.2/32", "10.99.1.0/24"]'
	reg_token p ', "address": "10.99.0.5/24"'
	reg_token w ''
	expect 200 -t w.jwt -d "$(body 10.99.0.9/24 '["10.99.0.9/32"]')" \
	    POST /v1/register
	ereq -t w.jwt GET /v1/peers | jq -S .body > before.json
	f0=$(health .refused.forbidden)
	# Another node's address; the whole mesh; one prefix of two
	# outside the grant; everything; a grant's neighbour.
	expect 403 -t a.jwt -d "$(body 10.99.0.3/24 '["10.99.0.2/32"]')" \
	    POST /v1/register
	expect 403 -t a.jwt -d "$(body 10.99.0.2/24 '["10.99.0.0/24"]')" \
	    POST /v1/register
	expect 403 -t a.jwt -d "$(body 10.99.0.2/24 \
	    '["10.99.0.2/32", "10.99.2.0/24"]')" POST /v1/register
	expect 403 -t a.jwt -d "$(body 10.99.0.2/24 '["0.0.0.0/0"]')" \
	    POST /v1/register
	expect 403 -t a.jwt -d "$(body 10.99.0.2/24 '["10.99.0.3/32"]')" \
	    POST /v1/register
	# The same address with another prefix length is another claim.
	expect 403 -t a.jwt -d "$(body 10.99.0.2/16 '["10.99.0.2/32"]')" \
	    POST /v1/register
	expect 403 -t p.jwt -d "$(body 10.99.0.6/24 '["10.99.0.6/32"]')" \
	    POST /v1/register
	jq -e '.body.error | length > 0' last.json > /dev/null ||
	    atf_fail "no reason given"
	echo "refused with: $(jq -r .body.error last.json)"
	[ "$(health .refused.forbidden)" = $((f0 + 7)) ] ||
	    atf_fail "forbidden counted $(health .refused.forbidden), want $((f0 + 7))"
	ereq -t w.jwt GET /v1/peers | jq -S .body > after.json
	cmp -s before.json after.json ||
	    { diff before.json after.json; atf_fail "a refusal changed the mesh"; }
	[ "$(health .registrations)" = 1 ] || atf_fail "registrations"

	# What the token grants, or less of it, is taken as registered.
	expect 200 -t a.jwt -d "$(body 10.99.0.2/24 \
	    '["10.99.0.2/32", "10.99.1.128/25"]')" POST /v1/register
	# p's token pins the address and grants no allowed_ips: only the
	# address as a host route (the registry fails closed).
	expect 403 -t p.jwt -d "$(body 10.99.0.5/24 '["10.99.7.0/24"]')" \
	    POST /v1/register
	expect 200 -t p.jwt -d "$(body 10.99.0.5/24 '["10.99.0.5/32"]')" \
	    POST /v1/register
	expect 200 -t w.jwt GET /v1/peers
	jq -e --arg a "$(cat a.pub)" '.body.peers[] | select(.public_key ==
	    $a) | .address == "10.99.0.2/24" and
	    .allowed_ips == ["10.99.0.2/32", "10.99.1.128/25"]' last.json \
	    > /dev/null || { cat last.json; atf_fail "a's entry"; }
	[ "$(health .registrations)" = 3 ] || atf_fail "registrations"
}
token_grants_cleanup()
{
	edge_down
}

atf_init_test_cases()
{
	atf_add_test_case stun_limit
	atf_add_test_case token_grants
}
