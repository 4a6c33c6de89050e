#!/bin/sh
# make demo: a cbp2p mesh on this machine, shown working.
#
# usage: scripts/demo.sh [up|down]
#
# Builds a NAT lab (scripts/natlab.sh) with an edge and three nodes:
# alpha on the "internet", beta and gamma each behind its own NAT router
# (nftables masquerade).  cbedged runs on the edge (registry over TLS 1.3
# and STUN); each node runs cbp2pd with nothing but a p2p-mesh token.
# The nodes register, learn each other, punch through the NATs and talk
# directly; the table shows each node's peers, endpoints, path and RTT.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
NATLAB=$TOP/scripts/natlab.sh
LAB=cbdemo
DEMO=${CBP2P_DEMO_DIR:-/tmp/cbp2p-demo}
EDGE=203.0.113.1
NODES="alpha beta gamma"
WAIT=60		# seconds for the mesh to come up

down()
{
	for f in "$DEMO"/*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	sleep 0.5
	"$NATLAB" -p "$LAB" down 2>/dev/null || true
	rm -rf "$DEMO"
}

addr_of()
{
	case $1 in
	alpha)	echo 10.77.0.1 ;;
	beta)	echo 10.77.0.2 ;;
	gamma)	echo 10.77.0.3 ;;
	esac
}

name_of_key()
{
	for n in $NODES; do
		[ "$(cat "$DEMO/$n.pub")" = "$1" ] && { echo "$n"; return; }
	done
	echo "?"
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

	echo "== the lab: an edge, alpha in the open, beta and gamma behind NAT"
	"$NATLAB" -p "$LAB" up alpha:public beta:cone gamma:cone
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
certificate: $DEMO/edge.crt
key: $DEMO/edge.key
verify_key: $DEMO/issuer.pub
verify_alg: ES256
issuer: cbp2p-demo
chroot: $DEMO/empty
YAML
	echo "== cbedged on the edge ($EDGE: registry 8443/tcp, STUN 3478/udp)"
	"$NATLAB" -p "$LAB" exec edge "$BIN/cbedged" -d -f "$DEMO/edge.yaml" \
	    > edge.log 2>&1 < /dev/null &
	echo $! > edge.pid

	echo "== a p2p-mesh token for each node (with its registry token)"
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
	    "routing": "direct", "encryption": "chacha20-poly1305" },
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
interface: cbdemo-$n
control_socket: $DEMO/$n.sock
chroot: $DEMO/empty
edge:
  registry: https://$EDGE:8443
  stun: $EDGE:3478
  ca: $DEMO/ca.crt
YAML
		printf '   %-6s %s  %s\n' "$n" "$a" "$(cat "$n.pub")"
	done

	echo "== cbp2pd on each node"
	for n in $NODES; do
		"$NATLAB" -p "$LAB" exec "$n" "$BIN/cbp2pd" -d -x "$BIN" \
		    -f "$DEMO/$n.yaml" > "$n.log" 2>&1 < /dev/null &
		echo $! > "$n.pid"
	done

	printf '== waiting for every pair to talk'
	i=0
	for n in $NODES; do
		for m in $NODES; do
			[ "$n" = "$m" ] && continue
			until "$NATLAB" -p "$LAB" exec "$n" ping -c 1 -W 1 \
			    "$(addr_of "$m")" >/dev/null 2>&1; do
				i=$((i + 1))
				[ $i -lt $WAIT ] || {
				    echo " gave up; see $DEMO/*.log"; exit 1; }
				printf .
			done
		done
	done
	echo " done"

	echo
	printf '%-6s %-10s %-6s %-22s %-7s %-10s %s\n' NODE ADDRESS PEER \
	    ENDPOINT PATH HANDSHAKE "RTT ms"
	for n in $NODES; do
		"$BIN/cbp2pctl" -j -s "$DEMO/$n.sock" peers |
		    jq -r '.[] | [.public_key, (.endpoint // "-"),
		    (now - .latest_handshake | floor | tostring) + "s ago"] |
		    @tsv' | while IFS='	' read -r key ep hs; do
			peer=$(name_of_key "$key")
			case $ep in
			"$EDGE":*)	path=relay ;;
			-)		path=none ;;
			*)		path=direct ;;
			esac
			rtt=$("$NATLAB" -p "$LAB" exec "$n" ping -c 3 -i 0.2 -q \
			    "$(addr_of "$peer")" | awk -F/ '/^rtt/ { print $5 }')
			printf '%-6s %-10s %-6s %-22s %-7s %-10s %s\n' "$n" \
			    "$(addr_of "$n")" "$peer" "$ep" "$path" "$hs" "$rtt"
		done
	done
	echo
	echo "beta and gamma reach each other at their NAT routers' public"
	echo "addresses (203.0.113.x): a direct path punched through both NATs."
	echo
	echo "== cbp2pctl status (gamma)"
	"$BIN/cbp2pctl" -s "$DEMO/gamma.sock" status
	echo
	echo "Logs and sockets are in $DEMO; try"
	echo "  $BIN/cbp2pctl -s $DEMO/beta.sock peers"
	echo "  wg show cbdemo-beta"
	echo "'make demo-down' removes it all."
}

case ${1:-up} in
up)	up ;;
down)	down ;;
*)	echo "usage: $0 [up|down]" >&2; exit 1 ;;
esac
