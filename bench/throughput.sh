#!/bin/sh
# make bench: iperf3 TCP through cbp2pd and through wireguard-go, over the
# same veth between the same two namespaces, in one run, with the ratio.
#
# usage: bench/throughput.sh [seconds]
#
# The last line: wireguard-go on B handshakes anew and pings, answered by
# cbp2pd (whose parent runs the Noise part) or by wireguard-go.
#
# Tunnels: cbp2pd <-> cbp2pd (10.99.0.0/24), wireguard-go <-> wireguard-go
# (10.98.0.0/24), and cbp2pd -> wireguard-go (10.97.0.0/24).  Every
# process shares the machine's cores: only figures of one run compare.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
SECS=${1:-10}
W=$(mktemp -d /tmp/cbp2p-bench.XXXXXX)
A=cbbencha$$
B=cbbenchb$$

cleanup()
{
	for ns in $A $B; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	sleep 0.5
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

"$TOP/scripts/mkuser.sh" _cbp2p
cd "$W"
umask 077
mkdir -m 755 empty
ip netns add "$A"
ip netns add "$B"
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip link add "bv$$a" netns "$A" type veth peer "bv$$b" netns "$B"
ip -n "$A" addr add 10.200.0.1/24 dev "bv$$a"
ip -n "$B" addr add 10.200.0.2/24 dev "bv$$b"
ip -n "$A" link set "bv$$a" up
ip -n "$B" link set "bv$$b" up

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out issuer.key 2>/dev/null
openssl pkey -in issuer.key -pubout -out issuer.pub 2>/dev/null
for n in a b c; do
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

for dst in 10.99.0.2 10.98.0.2 10.97.0.2; do
	i=0
	until ip netns exec "$A" ping -c 1 -W 1 "$dst" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 30 ] || { echo "bench: no path to $dst" >&2; exit 1; }
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
	printf '%-34s %10s %10s %8s\n' "$streams stream(s), Mbit/s" "$c" "$g" \
	    "$(echo "scale=2; $c / $g" | bc)"
done
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
