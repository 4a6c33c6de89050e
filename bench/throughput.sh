#!/bin/sh
# make bench: iperf3 TCP through cbp2pd and through wireguard-go, over the
# same veth between the same two namespaces, in one run, with the ratio;
# then through cbp2pd relayed by cbedged, with the ratio to direct.
#
# usage: bench/throughput.sh [seconds]
#
# The last line: wireguard-go on B handshakes anew and pings, answered by
# cbp2pd (whose parent runs the Noise part) or by wireguard-go.
#
# Tunnels: cbp2pd <-> cbp2pd (10.99.0.0/24), wireguard-go <-> wireguard-go
# (10.98.0.0/24), and cbp2pd -> wireguard-go (10.97.0.0/24).  Every
# process shares the machine's cores: only figures of one run compare.
#
# Relayed: two more cbp2pd (10.96.0.0/24, one in A, one in B) with a
# p2p-mesh token, routing relay, reach each other only through cbedged's
# relay worker (TLS 1.3) in a third namespace E, which A and B each reach
# over a veth of their own; its registry tells them of each other.  The
# relay's per-client token bucket is raised for the measurement (the
# output says so), so the figure is the relay path's, not the default cap.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
SECS=${1:-10}
# CBP2P_OFFLOAD=off measures cbp2pd without tun TSO and UDP GSO/GRO.
OFFLOAD=${CBP2P_OFFLOAD:-on}
W=$(mktemp -d /tmp/cbp2p-bench.XXXXXX)
A=cbbencha$$
B=cbbenchb$$
E=cbbenche$$
# The relay's limit on what one client sends, for the relayed figures:
# its maximum, instead of the 1 Gbit/s default (cbedged.yaml(5)).
RELAY_RATE=4294967295		# relay_send_rate, bytes a second
RELAY_BURST=67108864		# relay_send_burst, bytes

cleanup()
{
	for ns in $A $B $E; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	sleep 0.5
	for ns in $A $B $E; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

"$TOP/scripts/mkuser.sh" _cbp2p
cd "$W"
umask 077
mkdir -m 755 empty
for ns in $A $B $E; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
# veth NS1 IF1 ADDR1 NS2 IF2 ADDR2
veth()
{
	ip link add "$2" netns "$1" type veth peer "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}
veth "$A" "bv$$a" 10.200.0.1/24 "$B" "bv$$b" 10.200.0.2/24
# The edge: 10.201.0.2 as A sees it, 10.202.0.2 as B does.
veth "$A" "ba$$e" 10.201.0.1/24 "$E" "be$$a" 10.201.0.2/24
veth "$B" "bb$$e" 10.202.0.1/24 "$E" "be$$b" 10.202.0.2/24

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out issuer.key 2>/dev/null
openssl pkey -in issuer.key -pubout -out issuer.pub 2>/dev/null
for n in a b c d e; do
	wg genkey > $n.priv
	wg pubkey < $n.priv > $n.pub
done

# token NAME ADDR PORT PEERPUB PEERENDPOINT PEERADDR
token()
{
	now=$(date +%s)
	cat > $1.claims <<JSON
{ "exp": $((now + 3600)), "connection_type": "server-server",
  "wireguard_config": { "private_key": "$(cat $1.priv)",
    "public_key": "$(cat $1.pub)", "listen_port": $3 },
  "network_config": { "address": "$2", "mtu": 1420 },
  "peers": [ { "public_key": "$4", "endpoint": "$5",
    "allowed_ips": ["$6"] } ] }
JSON
	"$BIN/cbp2pctl" token -a ES256 -k issuer.key $1.claims > $1.jwt
	cat > $1.yaml <<YAML
token_file: $W/$1.jwt
verify_key: $W/issuer.pub
verify_alg: ES256
interface: cbb$$$1
control_socket: $W/$1.sock
chroot: $W/empty
offload: $OFFLOAD
YAML
}

# cbp2pd a (A) <-> cbp2pd b (B)
token a 10.99.0.1/24 51821 "$(cat b.pub)" 10.200.0.2:51822 10.99.0.2/32
token b 10.99.0.2/24 51822 "$(cat a.pub)" 10.200.0.1:51821 10.99.0.1/32
ip netns exec "$A" "$BIN/cbp2pd" -d -x "$BIN" -f "$W/a.yaml" 2>a.log &
ip netns exec "$B" "$BIN/cbp2pd" -d -x "$BIN" -f "$W/b.yaml" 2>b.log &

# wireguard-go <-> wireguard-go, and wireguard-go (B) for cbp2pd c (A)
wggo()
{
	WG_PROCESS_FOREGROUND=1 ip netns exec "$1" wireguard-go -f "$2" \
	    >/dev/null 2>&1 &
	while [ ! -S "/var/run/wireguard/$2.sock" ]; do sleep 0.1; done
	wg set "$2" private-key "$3" listen-port "$4" peer "$5" \
	    endpoint "$6" allowed-ips "$7"
	ip -n "$1" addr add "$8" dev "$2"
	ip -n "$1" link set "$2" up
}
wggo "$A" "gba$$" a.priv 51831 "$(cat b.pub)" 10.200.0.2:51832 \
    10.98.0.2/32 10.98.0.1/24
wggo "$B" "gbb$$" b.priv 51832 "$(cat a.pub)" 10.200.0.1:51831 \
    10.98.0.1/32 10.98.0.2/24
token c 10.97.0.1/24 51841 "$(cat b.pub)" 10.200.0.2:51842 10.97.0.2/32
ip netns exec "$A" "$BIN/cbp2pd" -d -x "$BIN" -f "$W/c.yaml" 2>c.log &
wggo "$B" "gbc$$" b.priv 51842 "$(cat c.pub)" 10.200.0.1:51841 \
    10.97.0.1/32 10.97.0.2/24

# The edge: registry and relay worker, a CA and a certificate naming
# both of its addresses.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.crt -subj /CN=cbp2p-bench-ca -days 1 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout edge.key -out edge.csr -subj /CN=edge 2>/dev/null
printf 'subjectAltName=IP:10.201.0.2,IP:10.202.0.2\n' > edge.ext
openssl x509 -req -in edge.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out edge.crt -days 1 -extfile edge.ext 2>/dev/null
cat > edge.yaml <<YAML
listen: 0.0.0.0:8443
stun_listen: 0.0.0.0:3478
relay_listen: 0.0.0.0:8444
relay_send_rate: $RELAY_RATE
relay_send_burst: $RELAY_BURST
certificate: $W/edge.crt
key: $W/edge.key
verify_key: $W/issuer.pub
verify_alg: ES256
chroot: $W/empty
YAML
ip netns exec "$E" "$BIN/cbedged" -d -f "$W/edge.yaml" 2>edge.log &

# mesh NAME ADDR EDGE: a p2p-mesh node, routing relay, of the edge at EDGE.
mesh()
{
	now=$(date +%s)
	cat > $1.claims <<JSON
{ "exp": $((now + 3600)), "connection_type": "p2p-mesh",
  "wireguard_config": { "private_key": "$(cat $1.priv)",
    "public_key": "$(cat $1.pub)", "allowed_ips": ["$2/32"] },
  "mesh_config": { "auto_discovery": true, "persistent": true,
    "routing": "relay", "encryption": "chacha20-poly1305" },
  "peer_whitelist": { "allowed_peers": [], "auto_approve": true,
    "max_peers": 16 },
  "network_config": { "subnet": "10.96.0.0/24", "address": "$2/24",
    "mtu": 1420 } }
JSON
	"$BIN/cbp2pctl" token -r -a ES256 -k issuer.key $1.claims > $1.jwt
	cat > $1.yaml <<YAML
token_file: $W/$1.jwt
verify_key: $W/issuer.pub
verify_alg: ES256
interface: cbb$$$1
control_socket: $W/$1.sock
chroot: $W/empty
edge:
  registry: https://$3:8443
  relay: $3:8444
  ca: $W/ca.crt
YAML
}
mesh d 10.96.0.1 10.201.0.2
mesh e 10.96.0.2 10.202.0.2
ip netns exec "$A" "$BIN/cbp2pd" -d -x "$BIN" -f "$W/d.yaml" 2>d.log &
ip netns exec "$B" "$BIN/cbp2pd" -d -x "$BIN" -f "$W/e.yaml" 2>e.log &

# Every path up within WAIT_SECS of wall-clock time (a ping fails at
# once while a tunnel's interface is missing: a deadline, not a count).
WAIT_SECS=60
end=$(($(date +%s) + WAIT_SECS))
for dst in 10.99.0.2 10.98.0.2 10.97.0.2 10.96.0.2; do
	until ip netns exec "$A" ping -c 1 -W 1 "$dst" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt $end ] ||
		    { echo "bench: no path to $dst" >&2; exit 1; }
		sleep 0.1
	done
done

ip netns exec "$B" iperf3 -s -D -I "$W/iperf.pid" >/dev/null

# run DST STREAMS: Mbit/s received
run()
{
	ip netns exec "$A" iperf3 -c "$1" -t "$SECS" -P "$2" -J > r.json
	jq '.end.sum_received.bits_per_second / 1e6 | floor' r.json
}

printf '%-34s %10s %10s %8s\n' "iperf3 TCP, $SECS s" cbp2pd wg-go ratio
for streams in 1 4; do
	c=$(run 10.99.0.2 $streams)
	g=$(run 10.98.0.2 $streams)
	eval direct$streams=$c
	printf '%-34s %10s %10s %8s\n' "$streams stream(s), Mbit/s" "$c" "$g" \
	    "$(echo "scale=2; $c / $g" | bc)"
done
printf '%-34s %10s %10s %8s\n' "iperf3 TCP via relay, $SECS s" relayed \
    direct ratio
for streams in 1 4; do
	r=$(run 10.96.0.2 $streams)
	eval c=\$direct$streams
	printf '%-34s %10s %10s %8s\n' "$streams stream(s), Mbit/s" "$r" "$c" \
	    "$(echo "scale=2; $r / $c" | bc)"
done
printf '%-34s %s\n' "relay token bucket raised to" \
    "relay_send_rate $RELAY_RATE B/s, relay_send_burst $RELAY_BURST B"
m=$(run 10.97.0.2 1)
printf '%-34s %10s\n' "cbp2pd -> wireguard-go, 1 stream" "$m"
c=$(ip netns exec "$A" ping -c 20 -i 0.05 -q 10.99.0.2 |
    awk -F/ '/^rtt/ { print $5 }')
g=$(ip netns exec "$A" ping -c 20 -i 0.05 -q 10.98.0.2 |
    awk -F/ '/^rtt/ { print $5 }')
printf '%-34s %10s %10s\n' "ping RTT avg, ms" "$c" "$g"

# hs IFNAME PEERPUB ENDPOINT ALLOWED DST: wireguard-go on B forgets its
# session and pings DST; the first reply's time includes a whole
# handshake answered by the other side.  Median of HS_ROUNDS, ms.
HS_ROUNDS=20
hs()
{
	for i in $(seq $HS_ROUNDS); do
		wg set "$1" peer "$2" remove
		wg set "$1" peer "$2" endpoint "$3" allowed-ips "$4"
		ip netns exec "$B" ping -c 1 -W 2 "$5" |
		    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
c=$(hs "gbc$$" "$(cat c.pub)" 10.200.0.1:51841 10.97.0.1/32 10.97.0.1)
g=$(hs "gbb$$" "$(cat a.pub)" 10.200.0.1:51831 10.98.0.1/32 10.98.0.1)
printf '%-34s %10s %10s\n' "handshake + first ping, ms" "$c" "$g"
