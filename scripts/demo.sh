#!/bin/sh
# make demo: bring cbp2p up on this machine and show it working.
#
# usage: scripts/demo.sh [up|down]
#
# Two nodes, each in its own network namespace joined by a veth pair,
# each running cbp2pd with a freshly minted ES256 server-server token that
# names the other as its peer.  They handshake, ping each other through
# the tunnel, and show themselves through cbp2pctl and wg(8).  The mesh
# with an edge, discovery and NAT joins this script as those land.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
DEMO=${CBP2P_DEMO_DIR:-/tmp/cbp2p-demo}
NODES="alpha beta"

ns_of() { echo "cbdemo-$1"; }

down()
{
	for n in $NODES; do
		if [ -f "$DEMO/$n.pid" ]; then
			kill "$(cat "$DEMO/$n.pid")" 2>/dev/null || true
		fi
	done
	sleep 0.5
	for n in $NODES; do
		ip netns del "$(ns_of $n)" 2>/dev/null || true
	done
	rm -rf "$DEMO"
}

# claims NAME ADDR PORT PEER PEER-ENDPOINT PEER-ADDR
claims()
{
	now=$(date +%s)
	cat > "$1.claims" <<JSON
{
	"iss": "cbp2p-demo", "sub": "$1",
	"exp": $((now + 86400)), "nbf": $((now - 60)),
	"connection_type": "server-server",
	"wireguard_config": {
		"private_key": "$(cat "$1.key")",
		"public_key": "$(cat "$1.pub")",
		"allowed_ips": ["$2/32"], "listen_port": $3
	},
	"peer_whitelist": { "allowed_peers": ["$(cat "$4.pub")"],
	    "auto_approve": false, "max_peers": 8 },
	"network_config": { "subnet": "10.77.0.0/24",
	    "address": "$2/24", "mtu": 1420 },
	"peers": [ { "public_key": "$(cat "$4.pub")", "endpoint": "$5",
	    "allowed_ips": ["$6/32"], "persistent_keepalive": 25 } ]
}
JSON
	"$BIN/cbp2pctl" token -a ES256 -k issuer.key "$1.claims" > "$1.jwt"
	cat > "$1.yaml" <<YAML
token_file: $DEMO/$1.jwt
verify_key: $DEMO/issuer.pub
verify_alg: ES256
issuer: cbp2p-demo
interface: cbdemo-$1
control_socket: $DEMO/$1.sock
chroot: $DEMO/empty
log_level: info
YAML
}

up()
{
	down
	"$TOP/scripts/mkuser.sh" _cbp2p
	mkdir -p "$DEMO"
	chmod 700 "$DEMO"
	mkdir -m 755 "$DEMO/empty"
	cd "$DEMO"
	umask 077

	echo "== an issuer key (ES256); nodes get only its public half"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out issuer.key 2>/dev/null
	openssl pkey -in issuer.key -pubout -out issuer.pub 2>/dev/null
	for n in $NODES; do
		"$BIN/cbp2pctl" keygen > "$n.key"
		"$BIN/cbp2pctl" pubkey < "$n.key" > "$n.pub"
		printf '   %-6s public key %s\n' "$n" "$(cat "$n.pub")"
	done

	echo "== two namespaces joined by a veth pair"
	for n in $NODES; do
		ip netns add "$(ns_of $n)"
		ip -n "$(ns_of $n)" link set lo up
	done
	ip link add cbdemo-a netns "$(ns_of alpha)" type veth \
	    peer cbdemo-b netns "$(ns_of beta)"
	ip -n "$(ns_of alpha)" addr add 192.168.77.1/24 dev cbdemo-a
	ip -n "$(ns_of beta)" addr add 192.168.77.2/24 dev cbdemo-b
	ip -n "$(ns_of alpha)" link set cbdemo-a up
	ip -n "$(ns_of beta)" link set cbdemo-b up

	echo "== tokens, checked with cbp2pd -n"
	claims alpha 10.77.0.1 51820 beta 192.168.77.2:51820 10.77.0.2
	claims beta 10.77.0.2 51820 alpha 192.168.77.1:51820 10.77.0.1
	for n in $NODES; do
		printf '   %-6s ' "$n"
		"$BIN/cbp2pd" -n -f "$DEMO/$n.yaml" 2>&1
	done

	echo "== starting cbp2pd in each namespace"
	for n in $NODES; do
		ip netns exec "$(ns_of $n)" "$BIN/cbp2pd" -d -x "$BIN" \
		    -f "$DEMO/$n.yaml" > "$DEMO/$n.log" 2>&1 &
		echo $! > "$DEMO/$n.pid"
	done
	for n in $NODES; do
		i=0
		until "$BIN/cbp2pctl" -s "$DEMO/$n.sock" status \
		    >/dev/null 2>&1; do
			i=$((i + 1))
			[ $i -lt 50 ] || { cat "$DEMO/$n.log"; exit 1; }
			sleep 0.1
		done
	done

	echo "== ping through the tunnel"
	ip netns exec "$(ns_of alpha)" ping -c 3 -i 0.2 10.77.0.2
	ip netns exec "$(ns_of beta)" ping -c 3 -i 0.2 10.77.0.1 >/dev/null

	echo
	printf '%-6s %-12s %-46s %-20s %-10s %-9s %s\n' NODE TUNNEL \
	    "PEER" ENDPOINT HANDSHAKE "RX/TX B" "RTT ms"
	for n in $NODES; do
		case $n in
		alpha)	me=10.77.0.1 other=10.77.0.2 ;;
		beta)	me=10.77.0.2 other=10.77.0.1 ;;
		esac
		rtt=$(ip netns exec "$(ns_of $n)" ping -c 5 -i 0.2 -q "$other" |
		    awk -F/ '/^rtt/ { print $5 }')
		"$BIN/cbp2pctl" -j -s "$DEMO/$n.sock" peers |
		    jq -r --arg n "$n" --arg me "$me" --arg rtt "$rtt" \
		    '.[] | [$n, $me, .public_key, .endpoint,
		    (now - .latest_handshake | floor | tostring) + "s ago",
		    "\(.rx_bytes)/\(.tx_bytes)", $rtt] | @tsv' |
		    awk -F'\t' '{ printf "%-6s %-12s %-46s %-20s %-10s %-9s %s\n",
		    $1, $2, $3, $4, $5, $6, $7 }'
	done

	echo
	echo "== cbp2pctl status (alpha)"
	"$BIN/cbp2pctl" -s "$DEMO/alpha.sock" status
	echo
	echo "== wg show, against cbp2pd's own configuration socket"
	wg show cbdemo-alpha
	echo
	echo "cbp2pd runs in namespaces $(ns_of alpha) and $(ns_of beta);" \
	    "logs in $DEMO; 'make demo-down' stops it all."
}

case ${1:-up} in
up)	up ;;
down)	down ;;
*)	echo "usage: $0 [up|down]" >&2; exit 1 ;;
esac
