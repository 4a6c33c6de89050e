#!/bin/sh
# make demo: a cbp2p mesh on this machine, shown working.
#
# usage: scripts/demo.sh [up|down]
#
# Builds a NAT lab (scripts/natlab.sh) with an edge and five nodes:
# alpha on the "internet", beta and gamma each behind its own cone NAT
# router, delta behind a symmetric NAT (a new external port for every
# destination) and epsilon behind a router that drops all outgoing UDP.
# cbedged runs on the edge: registry over TLS 1.3, STUN, and the packet
# relay (TLS 1.3 on 443/tcp).  Each node runs cbp2pd with nothing but a
# p2p-mesh token, routing hybrid: every peer starts on the relay, the
# direct path is probed, and a peer moves to direct when the probes are
# answered.  alpha, beta and gamma punch through their NATs and talk
# directly, and alpha reaches delta directly; delta with beta or gamma
# (symmetric against cone: neither side can predict the other's port)
# and every pair with epsilon (no UDP at all) stay on the relay.
#
# The demo waits, within WAIT seconds on the clock, until every ordered
# pair pings and no path is still being probed, then prints one row per
# pair: path, why it is relayed, RTT, endpoint, a ping, and each node's
# "paths:" status line.
#
# CBP2P_DEMO_DIR (default /tmp/cbp2p-demo) holds keys, configurations,
# logs and sockets; CBP2P_DEMO_LAB (default cbdemo, at most 7
# characters) names the lab's namespaces and the nodes' interfaces, so
# a second demo can run beside another one; CBP2P_DEMO_WAIT (default
# 100) bounds the wait in seconds.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
NATLAB=$TOP/scripts/natlab.sh
DEMO=${CBP2P_DEMO_DIR:-/tmp/cbp2p-demo}
LAB=${CBP2P_DEMO_LAB:-cbdemo}
# "down" removes the lab the last "up" in $DEMO made.
[ -n "${CBP2P_DEMO_LAB:-}" ] || [ ! -f "$DEMO/lab" ] || LAB=$(cat "$DEMO/lab")
EDGE=203.0.113.1
RELAY_PORT=443
NODES="alpha beta gamma delta epsilon"
# Seconds for every pair to ping and every path to settle.
WAIT=${CBP2P_DEMO_WAIT:-100}
SETTLE=4	# seconds the paths must stay the same to count as settled

case $LAB in
''|*[!A-Za-z0-9_]*) echo "$0: bad lab name '$LAB'" >&2; exit 1 ;;
esac
# Interface names ($LAB-epsilon) have at most 15 characters.
[ ${#LAB} -le 7 ] || { echo "$0: lab name '$LAB' over 7 characters" >&2
    exit 1; }

# in_lab PID: the process lives in one of the lab's namespaces.
in_lab()
{
	case $(ip netns identify "$1" 2>/dev/null) in
	"$LAB"-*) return 0 ;;
	esac
	return 1
}

down()
{
	pids=
	for f in "$DEMO"/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		in_lab "$p" && kill "$p" 2>/dev/null && pids="$pids $p"
	done
	# cbp2pd removes its tun and wg socket on the way out.
	i=0
	for p in $pids; do
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	done
	"$NATLAB" -p "$LAB" down 2>/dev/null || true
	for n in $NODES; do
		rm -f "/var/run/wireguard/$LAB-$n.sock"
	done
	rm -rf "$DEMO"
}

kind_of()
{
	case $1 in
	alpha)		echo public ;;
	beta|gamma)	echo cone ;;
	delta)		echo symmetric ;;
	epsilon)	echo blocked ;;
	esac
}

addr_of()
{
	case $1 in
	alpha)		echo 10.77.0.1 ;;
	beta)		echo 10.77.0.2 ;;
	gamma)		echo 10.77.0.3 ;;
	delta)		echo 10.77.0.4 ;;
	epsilon)	echo 10.77.0.5 ;;
	esac
}

# expect FROM TO: the path the lab allows between two nodes.
expect()
{
	case $(kind_of "$1")-$(kind_of "$2") in
	*blocked*)				echo relay ;;
	symmetric-public|public-symmetric)	echo direct ;;
	*symmetric*)				echo relay ;;
	*)					echo direct ;;
	esac
}

name_of_key()
{
	for n in $NODES; do
		[ "$(cat "$DEMO/$n.pub")" = "$1" ] && { echo "$n"; return; }
	done
	echo "?"
}

ctl()
{
	_n=$1
	shift
	"$BIN/cbp2pctl" -s "$DEMO/$_n.sock" "$@"
}

# snapshot: one line per ordered pair, "from to path reason", sorted; a
# pair the node does not know yet shows as "none unknown".
snapshot()
{
	for n in $NODES; do
		ctl "$n" -j peers 2>/dev/null |
		    jq -r '.[] | [.public_key, .path,
		    (.reason | gsub(" "; "_"))] | @tsv' 2>/dev/null |
		    while IFS='	' read -r key path reason; do
			echo "$n $(name_of_key "$key") $path $reason"
		done
		for m in $NODES; do
			[ "$n" = "$m" ] && continue
			echo "$n $m none unknown"
		done
	done | sort -s -k1,2 -u
}

# settled SNAPSHOT: every pair has a path and none is still probing.
settled()
{
	! grep -q -e ' none ' -e ' probing_direct$' "$1"
}

# ping_round: one ping for each ordered pair not yet answered, all at
# once, each given a second; $DEMO/ping.N-M exists once N reached M.
ping_round()
{
	_pids=
	for n in $NODES; do
		for m in $NODES; do
			[ "$n" = "$m" ] || [ -f "$DEMO/ping.$n-$m" ] && continue
			( "$NATLAB" -p "$LAB" exec "$n" ping -c 1 -W 1 \
			    "$(addr_of "$m")" >/dev/null 2>&1 &&
			    : > "$DEMO/ping.$n-$m" ) &
			_pids="$_pids $!"
		done
	done
	# Not a bare wait: the daemons are children of this shell too.
	for _p in $_pids; do
		wait "$_p" || true
	done
}

all_pinged()
{
	for n in $NODES; do
		for m in $NODES; do
			[ "$n" = "$m" ] || [ -f "$DEMO/ping.$n-$m" ] || return 1
		done
	done
}

up()
{
	down
	"$TOP/scripts/mkuser.sh" _cbp2p
	mkdir -p "$DEMO"
	chmod 700 "$DEMO"
	echo "$LAB" > "$DEMO/lab"
	mkdir -m 755 "$DEMO/empty"
	cd "$DEMO"
	umask 077

	echo "== the lab: an edge, alpha in the open, beta and gamma behind"
	echo "   cone NATs, delta behind a symmetric NAT, epsilon's UDP blocked"
	specs=
	for n in $NODES; do specs="$specs $n:$(kind_of "$n")"; done
	# shellcheck disable=SC2086 # one word a node
	"$NATLAB" -p "$LAB" up $specs
	"$NATLAB" -p "$LAB" show

	echo "== keys: an ES256 issuer, a CA and certificate for the edge"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out issuer.key 2>/dev/null
	openssl pkey -in issuer.key -pubout -out issuer.pub 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout ca.key -out ca.crt -subj /CN=cbp2p-demo-ca -days 30 \
	    2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout edge.key -out edge.csr -subj /CN=edge 2>/dev/null
	printf 'subjectAltName=IP:%s\n' "$EDGE" > edge.ext
	openssl x509 -req -in edge.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out edge.crt -days 30 -extfile edge.ext 2>/dev/null

	cat > edge.yaml <<YAML
listen: $EDGE:8443
stun_listen: $EDGE:3478
relay_listen: $EDGE:$RELAY_PORT
certificate: $DEMO/edge.crt
key: $DEMO/edge.key
verify_key: $DEMO/issuer.pub
verify_alg: ES256
issuer: cbp2p-demo
chroot: $DEMO/empty
YAML
	echo "== cbedged on the edge ($EDGE: registry 8443/tcp, STUN 3478/udp," \
	    "relay $RELAY_PORT/tcp)"
	"$NATLAB" -p "$LAB" exec edge "$BIN/cbedged" -d -f "$DEMO/edge.yaml" \
	    > edge.log 2>&1 < /dev/null &
	echo $! > edge.pid

	echo "== a p2p-mesh token for each node (routing hybrid, with its" \
	    "registry token)"
	now=$(date +%s)
	for n in $NODES; do
		"$BIN/cbp2pctl" keygen > "$n.key"
		"$BIN/cbp2pctl" pubkey < "$n.key" > "$n.pub"
		a=$(addr_of "$n")
		cat > "$n.claims" <<JSON
{
	"iss": "cbp2p-demo", "sub": "$n",
	"exp": $((now + 86400)), "nbf": $((now - 60)),
	"connection_type": "p2p-mesh",
	"wireguard_config": { "private_key": "$(cat "$n.key")",
	    "public_key": "$(cat "$n.pub")", "allowed_ips": ["$a/32"] },
	"mesh_config": { "auto_discovery": true, "persistent": true,
	    "routing": "hybrid", "encryption": "chacha20-poly1305" },
	"peer_whitelist": { "allowed_peers": [], "auto_approve": true,
	    "max_peers": 16 },
	"network_config": { "subnet": "10.77.0.0/24", "address": "$a/24",
	    "mtu": 1420 }
}
JSON
		"$BIN/cbp2pctl" token -r -a ES256 -k issuer.key "$n.claims" \
		    > "$n.jwt"
		cat > "$n.yaml" <<YAML
token_file: $DEMO/$n.jwt
verify_key: $DEMO/issuer.pub
verify_alg: ES256
issuer: cbp2p-demo
interface: $LAB-$n
control_socket: $DEMO/$n.sock
chroot: $DEMO/empty
edge:
  registry: https://$EDGE:8443
  stun: $EDGE:3478
  relay: $EDGE:$RELAY_PORT
  ca: $DEMO/ca.crt
YAML
		printf '   %-8s %-10s %-10s %s\n' "$n" "$(kind_of "$n")" "$a" \
		    "$(cat "$n.pub")"
	done

	echo "== cbp2pd on each node"
	for n in $NODES; do
		"$NATLAB" -p "$LAB" exec "$n" "$BIN/cbp2pd" -d -x "$BIN" \
		    -f "$DEMO/$n.yaml" > "$n.log" 2>&1 < /dev/null &
		echo $! > "$n.pid"
	done

	# Every pair pings and the paths stay the same for SETTLE seconds
	# with none still probing, or the clock runs out.
	printf '== waiting for every pair to ping and every path to settle'
	start=$(date +%s)
	deadline=$((start + WAIT))
	stable=0 ok=0
	: > snap.prev
	while :; do
		ping_round
		snapshot > snap.now
		if all_pinged && settled snap.now &&
		    cmp -s snap.now snap.prev; then
			[ "$stable" -ne 0 ] || stable=$(date +%s)
			if [ $(($(date +%s) - stable)) -ge "$SETTLE" ]; then
				ok=1
				break
			fi
		else
			stable=0
		fi
		mv snap.now snap.prev
		[ "$(date +%s)" -lt "$deadline" ] || break
		printf .
		sleep 1
	done
	took=$(($(date +%s) - start))
	if [ "$ok" = 1 ]; then
		echo " done in ${took}s"
	else
		echo " gave up after ${took}s:"
		all_pinged || echo "   some pairs never answered a ping"
		settled snap.prev ||
		    echo "   some paths still probing or without a path"
	fi

	echo
	fmt='%-8s %-10s %-8s %-21s %-7s %-26s %-10s %-7s %s\n'
	# shellcheck disable=SC2059 # the format is ours
	printf "$fmt" NODE ADDRESS PEER ENDPOINT PATH REASON HANDSHAKE \
	    "RTT ms" PING
	: > unexpected
	for n in $NODES; do
		ctl "$n" -j peers > "peers.$n.json" || echo '[]' > "peers.$n.json"
		for m in $NODES; do
			[ "$n" = "$m" ] && continue
			jq -r --arg k "$(cat "$m.pub")" '.[] |
			    select(.public_key == $k) | [.path, .reason,
			    (if .path == "relay" then .relay // "-"
			     else .endpoint // "-" end),
			    (.rtt_ms // "-" | tostring),
			    (if .latest_handshake == 0 then "never" else
			     (now - .latest_handshake | floor | tostring) +
			     "s ago" end)] | @tsv' "peers.$n.json" > row
			[ -s row ] || printf 'unknown\t-\t-\t-\t-\n' > row
			IFS='	' read -r path reason ep rtt hs < row
			[ "$reason" != none ] || reason=-
			[ "$rtt" = - ] || rtt=$(printf '%.3f' "$rtt")
			res=$("$NATLAB" -p "$LAB" exec "$n" ping -c 3 -i 0.2 \
			    -W 1 -q "$(addr_of "$m")" 2>/dev/null |
			    awk -F'[ /]' '/packets transmitted/ {
				r = $4 "/" $1 }
				/^rtt/ { a = sprintf(" %.3f ms", $8) }
				END { print r a }')
			# shellcheck disable=SC2059
			printf "$fmt" "$n" "$(addr_of "$n")" "$m" "$ep" \
			    "$path" "$reason" "$hs" "$rtt" "$res"
			want=$(expect "$n" "$m")
			[ "$path" = "$want" ] || echo "$n -> $m: $path," \
			    "expected $want" >> unexpected
			[ "$(kind_of "$n")" != blocked ] ||
			    [ "$reason" = "UDP blocked" ] ||
			    echo "$n -> $m: reason \"$reason\", its UDP" \
			    "is blocked" >> unexpected
		done
	done
	rm -f row
	echo
	echo "beta and gamma reach each other at their NAT routers' public"
	echo "addresses (203.0.113.x): a direct path punched through both NATs."
	echo "delta's symmetric NAT gives every destination a new port: alpha,"
	echo "in the open, answers whatever port comes, but beta's and gamma's"
	echo "NATs only let in the port they sent to.  epsilon's UDP never"
	echo "leaves its router (its STUN gets no answer): it and its peers talk"
	echo "over TLS through the relay at $EDGE:$RELAY_PORT.  RTT is the"
	echo "path's own probe; PING is received/sent of three pings and their"
	echo "average."
	if [ -s unexpected ]; then
		ok=0
		echo
		echo "Not what this lab should give:"
		sed 's/^/   /' unexpected
	fi
	echo
	echo "== cbp2pctl status: paths"
	for n in $NODES; do
		ctl "$n" status | awk -v n="$n" \
		    '/^(paths|p2p):/ { printf "%-8s %s\n", n, $0 }'
	done
	echo
	echo "Logs and sockets are in $DEMO; try"
	echo "  $BIN/cbp2pctl -s $DEMO/delta.sock peers"
	echo "  wg show $LAB-beta"
	echo "'make demo-down' removes it all."
	[ "$ok" = 1 ]
}

case ${1:-up} in
up)	up ;;
down)	down ;;
*)	echo "usage: $0 [up|down]" >&2; exit 1 ;;
esac
