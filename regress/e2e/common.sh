# Shared helpers for cbp2p's atf-sh end-to-end tests.  Sourced by each
# test case body and cleanup; everything lives in the test's work
# directory, which Kyua removes afterwards.

TOP=$(cd "$(atf_get_srcdir)/../.." && pwd)
OBJ=$TOP/obj/bin
CBP2PD=$OBJ/cbp2pd
CBP2PCTL=$OBJ/cbp2pctl
# How long, in seconds of wall-clock time, to wait for a daemon to start,
# answer or exit.  Every wait below is a deadline on the clock, not a
# count of tries: a slow machine gets fewer tries, not a longer wait, and
# a fast one goes on as soon as the condition holds.
WAIT_SECS=20

# cb_now_ms: the wall clock in milliseconds.
cb_now_ms()
{
	date +%s%3N
}

# cb_deadline SECONDS: the wall-clock time SECONDS from now, in ms, for
# cb_before.
cb_deadline()
{
	echo $(($(cb_now_ms) + $1 * 1000))
}

# cb_before DEADLINE: true while the clock is before DEADLINE (ms).
cb_before()
{
	[ "$(cb_now_ms)" -lt "$1" ]
}

# Make the unprivileged user the children run as.
cb_user()
{
	"$TOP/scripts/mkuser.sh" _cbp2p || atf_fail "cannot create _cbp2p"
}

# cb_issuer_keys DIR: an ES256 and an RS256 issuer key pair, and an
# HS256 secret.
cb_issuer_keys()
{
	d=$1
	mkdir -p "$d"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$d/es256.key" 2>/dev/null || atf_fail "openssl EC"
	openssl pkey -in "$d/es256.key" -pubout -out "$d/es256.pub" \
	    2>/dev/null || atf_fail "openssl EC pub"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$d/rs256.key" 2>/dev/null || atf_fail "openssl RSA"
	openssl pkey -in "$d/rs256.key" -pubout -out "$d/rs256.pub" \
	    2>/dev/null || atf_fail "openssl RSA pub"
	head -c 48 /dev/urandom | base64 | tr -d '\n' > "$d/hs256.secret"
	chmod 600 "$d"/*
}

# cb_node NAME TYPE [ADDRESS]: WireGuard keys for a node, in NAME.priv
# and NAME.pub.
cb_wgkeys()
{
	"$CBP2PCTL" keygen > "$1.priv" || atf_fail "keygen"
	"$CBP2PCTL" pubkey < "$1.priv" > "$1.pub" || atf_fail "pubkey"
}

# cb_claims NAME TYPE ADDRESS [EXTRA-JSON-MEMBERS]: write NAME.claims.
cb_claims()
{
	name=$1 type=$2 addr=$3 extra=${4:-}
	now=$(date +%s)
	cat > "$name.claims" <<JSON
{
	"iss": "cbp2p-test",
	"sub": "$name",
	"exp": $((now + 3600)),
	"nbf": $((now - 60)),
	"connection_type": "$type",
	"wireguard_config": {
		"private_key": "$(cat "$name.priv")",
		"public_key": "$(cat "$name.pub")",
		"allowed_ips": ["$addr"],
		"listen_port": ${PORT:-0}
	},
	"mesh_config": {
		"auto_discovery": true,
		"persistent": true,
		"routing": "hybrid",
		"encryption": "chacha20-poly1305"
	},
	"peer_whitelist": {
		"allowed_peers": [],
		"auto_approve": true,
		"max_peers": 16
	},
	"network_config": {
		"subnet": "10.99.0.0/24",
		"address": "$addr",
		"mtu": 1420
	}${extra}
}
JSON
}

# cb_token NAME ALG KEYDIR: sign NAME.claims into NAME.jwt (mode 0600).
cb_token()
{
	name=$1 alg=$2 keys=$3
	case $alg in
	ES256)	key=$keys/es256.key ;;
	RS256)	key=$keys/rs256.key ;;
	HS256)	key=$keys/hs256.secret ;;
	esac
	"$CBP2PCTL" token -a "$alg" -k "$key" "$name.claims" > "$name.jwt" ||
	    atf_fail "cannot mint a token for $name"
	chmod 600 "$name.jwt"
}

# cb_regtoken PUBKEY ADDRESS ALLOWED-IPS-JSON [MESH [KEY]]: print a
# registry token (doc/registry.md) for a peer a test makes up, granting
# that address and those prefixes in MESH (cb_claims' subnet names it by
# default), signed by the ES256 issuer of keys/ (or the PEM in KEY),
# valid for CB_REGTOK_LIFE seconds (an hour; negative: expired).
cb_regtoken()
{
	printf '{"iss": "cbp2p-test", "sub": "peer", "exp": %s, "token_use": "registry", "public_key": "%s", "mesh": "%s", "address": "%s", "allowed_ips": %s}\n' \
	    $(($(date +%s) + ${CB_REGTOK_LIFE:-3600})) "$1" \
	    "${4:-10.99.0.0/24}" "$2" "$3" > regtok.claims
	"$CBP2PCTL" token -a ES256 -k "${5:-keys/es256.key}" regtok.claims ||
	    atf_fail "cannot mint a registry token"
}

# cb_config NAME ALG KEYDIR [EXTRA-YAML]: write NAME.yaml for a daemon
# whose state lives in the work directory.
cb_config()
{
	name=$1 alg=$2 keys=$3 extra=${4:-}
	case $alg in
	ES256)	vkey=$keys/es256.pub ;;
	RS256)	vkey=$keys/rs256.pub ;;
	HS256)	vkey=$keys/hs256.secret ;;
	esac
	mkdir -p "$PWD/empty"
	chmod 755 "$PWD/empty"
	cat > "$name.yaml" <<YAML
token_file: $PWD/$name.jwt
verify_key: $vkey
verify_alg: $alg
issuer: cbp2p-test
interface: ${IFNAME:-cb$$$name}
control_socket: $PWD/$name.sock
user: _cbp2p
chroot: $PWD/empty
log_level: info
log_format: text
$extra
YAML
}

# cb_two_ns: the _cbp2p user, the issuer's keys (keys.*), and namespaces
# A (recorded in a.ns, where cb_start a runs) and B joined by a veth,
# 10.200.0.1 and 10.200.0.2.
cb_two_ns()
{
	cb_user
	cb_issuer_keys keys
	A=$(cb_ns a)
	B=$(cb_ns b)
	echo "$A" > a.ns
	cb_veth "$A" 10.200.0.1/24 "$B" 10.200.0.2/24
}

# cb_static_pair [EXTRA-YAML]: cbp2pd a (namespace $A, 10.99.0.1, UDP
# 51821) and b ($B, 10.99.0.2, 51822) over a veth (10.200.0.1 and .2),
# each the other's static server-server peer, started.
cb_static_pair()
{
	cb_two_ns
	echo "$B" > b.ns
	cb_wgkeys a
	cb_wgkeys b
	PORT=51821 cb_claims a server-server 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" 10.200.0.2:51822 10.99.0.2/32)"
	PORT=51822 cb_claims b server-server 10.99.0.2/24 \
	    "$(cb_peer_json "$(cat a.pub)" 10.200.0.1:51821 10.99.0.1/32)"
	for n in a b; do
		cb_token "$n" ES256 keys
		cb_config "$n" ES256 keys "${1:-}"
		cb_start "$n"
	done
}

# cb_ns NAME: a network namespace of this test, lo up; its name is
# printed and remembered in netns.list for cleanup.
cb_ns()
{
	ns=cb$$$1
	ip netns add "$ns" || atf_fail "ip netns add $ns"
	echo "$ns" >> netns.list
	ip -n "$ns" link set lo up
	echo "$ns"
}

# cb_veth NS1 ADDR1 NS2 ADDR2: a veth pair between two namespaces.
cb_veth()
{
	ip link add "v$$a" netns "$1" type veth peer "v$$b" netns "$3" ||
	    atf_fail "veth"
	ip -n "$1" link set "v$$a" name eth0
	ip -n "$3" link set "v$$b" name eth0
	ip -n "$1" addr add "$2" dev eth0
	ip -n "$3" addr add "$4" dev eth0
	ip -n "$1" link set eth0 up
	ip -n "$3" link set eth0 up
}

# cb_start NAME [cbp2pd options]: run cbp2pd in the foreground, in the
# background, inside namespace NAME.ns (made if missing); its pid goes to
# NAME.pid and its log to NAME.log.  CB_STDIN names its standard input
# (default /dev/null); CB_WRAP is a command that execs it (setpriv ...).
cb_start()
{
	name=$1
	shift
	[ -f "$name.ns" ] || cb_ns "$name" > "$name.ns"
	ip netns exec "$(cat "$name.ns")" ${CB_WRAP:-} "$CBP2PD" -d -x "$OBJ" \
	    -f "$PWD/$name.yaml" "$@" < "${CB_STDIN:-/dev/null}" \
	    > "$name.log" 2>&1 &
	echo $! > "$name.pid"
	cb_wait_ready "$name"
}

# cb_wait_exit and a cleanup of every namespace this test made.
cb_ns_cleanup()
{
	[ -f netns.list ] || return 0
	for ns in $(cat netns.list); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# Wait until the control socket answers with three children that took
# their configuration.
cb_wait_ready()
{
	name=$1
	_wr_end=$(cb_deadline $WAIT_SECS)
	while cb_before $_wr_end; do
		if [ -S "$name.sock" ] &&
		    "$CBP2PCTL" -j -s "$name.sock" status > "$name.status" \
		    2>/dev/null &&
		    [ "$(jq '[.children[] | select(.configs >= 1)] | length' \
		    "$name.status")" = 4 ]; then
			return 0
		fi
		if ! kill -0 "$(cat "$name.pid")" 2>/dev/null; then
			cat "$name.log"
			atf_fail "cbp2pd $name exited during start-up"
		fi
		sleep 0.1
	done
	cat "$name.log"
	atf_fail "cbp2pd $name did not become ready in $WAIT_SECS s"
}

cb_ctl()
{
	name=$1
	shift
	"$CBP2PCTL" -s "$PWD/$name.sock" "$@"
}

# cb_nocore PID...: each process (they hold keys) may write no core
# file: RLIMIT_CORE 0, soft and hard, in /proc/PID/limits.
cb_nocore()
{
	for _nc_pid in "$@"; do
		awk '/^Max core file size/ { found = 1; ok = $5 == 0 && $6 == 0 }
		    END { exit !(found && ok) }' "/proc/$_nc_pid/limits" ||
		    atf_fail "$(cat "/proc/$_nc_pid/cmdline" | tr '\0' ' ')(pid $_nc_pid) may dump core: $(grep core "/proc/$_nc_pid/limits")"
	done
}

# Pids of a daemon's children.
cb_children()
{
	pgrep -P "$(cat "$1.pid")"
}

# cb_wait_exit PID [SECONDS]: wait at most SECONDS (WAIT_SECS) for PID to
# exit; false if it has not.
cb_wait_exit()
{
	_cw_pid=$1
	_cw_end=$(cb_deadline "${2:-$WAIT_SECS}")
	while kill -0 "$_cw_pid" 2>/dev/null && cb_before $_cw_end; do
		sleep 0.1
	done
	kill -0 "$_cw_pid" 2>/dev/null && return 1
	return 0
}

# Cleanup: stop every wireguard-go this test started (SIGTERM, so it
# removes its socket), kill whatever of the named daemons is left,
# children too, remove their configuration sockets, then the test's
# namespaces.  A cleanup runs in another process than the body: names
# come from the work directory's files, never from $$.
cb_kill()
{
	if [ -f wggo.list ]; then
		for ifn in $(cat wggo.list); do
			cb_wggo_stop "$ifn"
		done
	fi
	for name in "$@"; do
		[ -f "$name.pid" ] || continue
		pid=$(cat "$name.pid")
		for c in $(pgrep -P "$pid" 2>/dev/null); do
			kill -9 "$c" 2>/dev/null
		done
		kill -9 "$pid" 2>/dev/null
		ifn=$(sed -n 's/^interface: //p' "$name.yaml" 2>/dev/null)
		[ -z "$ifn" ] || rm -f "/var/run/wireguard/$ifn.sock"
	done
	cb_ns_cleanup
	return 0
}

# cb_wggo NS IFNAME ADDR PORT KEYFILE: wireguard-go in NS with a tunnel
# address and listen port; its pid in IFNAME.pid.
cb_wggo()
{
	ns=$1 ifn=$2 addr=$3 port=$4 key=$5
	WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go -f "$ifn" \
	    > "$ifn.log" 2>&1 &
	echo $! > "$ifn.pid"
	echo "$ifn" >> wggo.list
	cb_until $WAIT_SECS test -S "/var/run/wireguard/$ifn.sock" ||
	    atf_fail "wireguard-go did not start in $WAIT_SECS s"
	# wireguard-go answers on its socket a moment before it can bind.
	cb_until 5 wg set "$ifn" private-key "$key" listen-port "$port" ||
	    atf_fail "wg set $ifn"
	ip -n "$ns" addr add "$addr" dev "$ifn"
	ip -n "$ns" link set "$ifn" up
}

cb_wggo_stop()
{
	[ -f "$1.pid" ] || return 0
	kill "$(cat "$1.pid")" 2>/dev/null
	cb_wait_exit "$(cat "$1.pid")"
	rm -f "$1.pid"
}

# cb_ping NS ADDR [SIZE]: a few pings must come back.
cb_ping()
{
	ip netns exec "$1" ping -c 3 -i 0.2 -W 2 ${3:+-s $3} "$2" ||
	    atf_fail "ping $2 from $1 failed"
}

# cb_until SECONDS COMMAND...: retry a command, 0.1 s apart, until it
# succeeds; false once SECONDS of wall-clock time have passed since the
# first try.  However long each try takes, no try starts after the
# deadline, so the wait is SECONDS plus at most one try.
cb_until()
{
	# sh has no locals: names of our own, so callers' loops survive.
	_cu_end=$(cb_deadline "$1")
	shift
	until "$@" >/dev/null 2>&1; do
		cb_before $_cu_end || return 1
		sleep 0.1
	done
	return 0
}

# cb_peer_claims PUB ENDPOINT ALLOWED [PSK]: a "peers" member for cb_claims.
cb_peer_json()
{
	printf ',\n\t"peers": [ { "public_key": "%s", "endpoint": "%s", "allowed_ips": ["%s"]%s } ]' \
	    "$1" "$2" "$3" "${4:+, \"preshared_key\": \"$4\"}"
}

# cb_pair_wggo [psk]: namespaces A (cbp2pd, node "a", 10.99.0.1) and B
# (wireguard-go, 10.99.0.2) over a veth; cbp2pd listens on 51821,
# wireguard-go on 51820.  Sets A, B and WGB.
cb_pair_wggo()
{
	psk=${1:-}
	cb_two_ns
	umask 077
	wg genkey > b.priv
	wg pubkey < b.priv > b.pub
	if [ -n "$psk" ]; then
		wg genpsk > psk
	fi
	cb_wgkeys a
	PORT=51821 cb_claims a server-server 10.99.0.1/24 \
	    "$(cb_peer_json "$(cat b.pub)" 10.200.0.2:51820 10.99.0.2/32 \
	    ${psk:+$(cat psk)})"
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start_wggo
	cb_start a
}

cb_start_wggo()
{
	WGB=wgb$$
	cb_wggo "$B" "$WGB" 10.99.0.2/24 51820 b.priv
	wg set "$WGB" peer "$(cat a.pub)" endpoint 10.200.0.1:51821 \
	    allowed-ips 10.99.0.1/32 ${psk:+preshared-key psk} ||
	    atf_fail "wg set peer"
}

# wg show against cbp2pd's own configuration socket.
cb_wga()
{
	wg show "cb$$a" "$@"
}


# ---- a mesh behind NATs, with an edge ------------------------------------

NATLAB=$TOP/scripts/natlab.sh
EDGE_IP=203.0.113.1

# cb_edge_certs: a test CA and a certificate for the edge's address.
cb_edge_certs()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout ca.key -out ca.crt -subj /CN=cbp2p-test-ca \
	    -days 2 2>/dev/null || atf_fail "CA"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout edge.key -out edge.csr -subj /CN=edge 2>/dev/null ||
	    atf_fail "edge key"
	printf 'subjectAltName=IP:%s\n' "$EDGE_IP" > edge.ext
	openssl x509 -req -in edge.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out edge.crt -days 2 -extfile edge.ext \
	    2>/dev/null || atf_fail "edge certificate"
	chmod 600 edge.key
}

# cb_edge_start [EXTRA-YAML]: cbedged in the lab's edge namespace.
cb_edge_start()
{
	mkdir -p "$PWD/empty"
	chmod 755 "$PWD/empty"
	cat > edge.yaml <<YAML
listen: $EDGE_IP:8443
stun_listen: $EDGE_IP:3478
certificate: $PWD/edge.crt
key: $PWD/edge.key
verify_key: $PWD/keys/es256.pub
verify_alg: ES256
issuer: cbp2p-test
user: _cbp2p
chroot: $PWD/empty
${1:-}
YAML
	ip netns exec "$LAB-edge" "$OBJ/cbedged" -d -v -f "$PWD/edge.yaml" \
	    > edge.log 2>&1 < /dev/null &
	echo $! > edge.pid
	cb_until 10 ip netns exec "$LAB-edge" python3 -c "
import socket; socket.create_connection(('$EDGE_IP', 8443), 1)" ||
	    { cat edge.log; atf_fail "cbedged did not start"; }
}

cb_edge_stop()
{
	[ -f edge.pid ] || return 0
	kill "$(cat edge.pid)" 2>/dev/null
	cb_wait_exit "$(cat edge.pid)"
	rm -f edge.pid
}

# cb_mesh_node NAME ADDR [JQ-FILTER]: keys, a p2p-mesh token (with its
# registry token) and a configuration for node NAME of the lab; the
# filter edits the claims (whitelist, routing).
cb_mesh_node()
{
	# sh has no locals: the helpers called below reuse name and addr.
	mn=$1 ma=$2 mf=${3:-.}
	cb_wgkeys "$mn"
	cb_claims "$mn" p2p-mesh "$ma/24"
	jq --arg a "$ma/32" '.mesh_config.routing = "direct" |
	    .wireguard_config.allowed_ips = [$a]' "$mn.claims" |
	    jq "$mf" > "$mn.claims.new" || atf_fail "claims filter"
	mv "$mn.claims.new" "$mn.claims"
	"$CBP2PCTL" token -r -a ES256 -k keys/es256.key "$mn.claims" \
	    > "$mn.jwt" || atf_fail "token for $mn"
	chmod 600 "$mn.jwt"
	cb_config "$mn" ES256 keys "edge:
  registry: https://$EDGE_IP:8443
  stun: $EDGE_IP:3478
  ca: $PWD/ca.crt"
	"$NATLAB" -p "$LAB" ns "$mn" > "$mn.ns"
}

# cb_mesh_cleanup: daemons, the edge, the lab.
cb_mesh_cleanup()
{
	for f in *.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		for c in $(pgrep -P "$pid" 2>/dev/null); do
			kill -9 "$c" 2>/dev/null
		done
		kill -9 "$pid" 2>/dev/null
	done
	[ -f lab ] && "$NATLAB" -p "$(cat lab)" down
	cb_ns_cleanup
	return 0
}

# Peers of node NAME, their keys, one per line.
cb_peer_keys()
{
	cb_ctl "$1" -j peers | jq -r '.[].public_key' | sort
}

# find_key PID KEYFILE: 0 if the key's 32 bytes are in PID's writable
# memory.
find_key()
{
	python3 - "$1" "$2" <<'PY'
import base64, re, sys
pid, keyfile = sys.argv[1], sys.argv[2]
key = base64.b64decode(open(keyfile).read().strip())
assert len(key) == 32
found = False
with open("/proc/%s/maps" % pid) as maps, \
    open("/proc/%s/mem" % pid, "rb", 0) as mem:
	for line in maps:
		m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
		lo, hi, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
		if "w" not in perms or "[vvar]" in line:
			continue
		try:
			mem.seek(lo)
			if key in mem.read(hi - lo):
				found = True
		except OSError:
			pass
sys.exit(0 if found else 1)
PY
}
