#!/bin/sh
# make demo: bring cbp2p up on this machine and show it working.
#
# usage: scripts/demo.sh [up|down]
#
# What runs today: one cbp2pd node with a freshly minted ES256 token, its
# three sandboxed children, and cbp2pctl talking to it.  The mesh across
# network namespaces joins this script as the edge and discovery land.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
OBJ=$TOP/obj/bin
DEMO=${CBP2P_DEMO_DIR:-/tmp/cbp2p-demo}
CTL="$OBJ/cbp2pctl -s $DEMO/cbp2pd.sock"

down()
{
	if [ -f "$DEMO/cbp2pd.pid" ]; then
		kill "$(cat "$DEMO/cbp2pd.pid")" 2>/dev/null || true
		sleep 0.5
	fi
	rm -rf "$DEMO"
}

up()
{
	down
	"$TOP/scripts/mkuser.sh" _cbp2p
	mkdir -p "$DEMO/empty"
	chmod 700 "$DEMO"
	chmod 755 "$DEMO/empty"
	cd "$DEMO"

	echo "== issuer key (ES256) and the node's WireGuard keys"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out issuer.key 2>/dev/null
	openssl pkey -in issuer.key -pubout -out issuer.pub 2>/dev/null
	"$OBJ/cbp2pctl" keygen > node.key
	"$OBJ/cbp2pctl" pubkey < node.key > node.pub
	echo "node public key: $(cat node.pub)"

	now=$(date +%s)
	cat > claims.json <<JSON
{
	"iss": "cbp2p-demo", "sub": "demo-node",
	"exp": $((now + 86400)), "nbf": $((now - 60)),
	"connection_type": "p2p-mesh",
	"wireguard_config": {
		"private_key": "$(cat node.key)",
		"public_key": "$(cat node.pub)",
		"allowed_ips": ["10.77.0.1/32"], "listen_port": 51820
	},
	"mesh_config": { "auto_discovery": true, "persistent": true,
	    "routing": "hybrid", "encryption": "chacha20-poly1305" },
	"peer_whitelist": { "allowed_peers": [], "auto_approve": true,
	    "max_peers": 32 },
	"network_config": { "subnet": "10.77.0.0/24",
	    "address": "10.77.0.1/24", "mtu": 1420 }
}
JSON
	"$OBJ/cbp2pctl" token -a ES256 -k issuer.key claims.json > node.jwt
	chmod 600 node.jwt node.key issuer.key
	echo "token: $(cut -c1-60 node.jwt)..."

	cat > cbp2pd.yaml <<YAML
token_file: $DEMO/node.jwt
verify_key: $DEMO/issuer.pub
verify_alg: ES256
issuer: cbp2p-demo
interface: cbdemo0
control_socket: $DEMO/cbp2pd.sock
chroot: $DEMO/empty
log_level: info
YAML
	echo "== cbp2pd -n"
	"$OBJ/cbp2pd" -n -f "$DEMO/cbp2pd.yaml"
	echo "== starting cbp2pd"
	"$OBJ/cbp2pd" -d -x "$OBJ" -f "$DEMO/cbp2pd.yaml" \
	    > "$DEMO/cbp2pd.log" 2>&1 &
	echo $! > "$DEMO/cbp2pd.pid"
	i=0
	until $CTL status >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 50 ] || { cat "$DEMO/cbp2pd.log"; exit 1; }
		sleep 0.1
	done
	echo "== cbp2pctl status"
	$CTL status
	echo "== the children, as the kernel sees them"
	for pid in $(pgrep -P "$(cat "$DEMO/cbp2pd.pid")"); do
		printf '%-9s uid %-6s NoNewPrivs %s Seccomp %s root %s\n' \
		    "$(cat /proc/$pid/comm)" \
		    "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" \
		    "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$pid/status)" \
		    "$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status)" \
		    "$(readlink /proc/$pid/root)"
	done
	echo "== reload, then the log"
	$CTL reload
	sleep 0.2
	cat "$DEMO/cbp2pd.log"
	echo
	echo "cbp2pd runs (pid $(cat "$DEMO/cbp2pd.pid")); 'make demo-down' stops it."
}

case ${1:-up} in
up)	up ;;
down)	down ;;
*)	echo "usage: $0 [up|down]" >&2; exit 1 ;;
esac
