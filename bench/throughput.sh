#!/bin/sh
# make bench: the data plane of cbp2pd against wireguard-go, over the same
# veth between the same two namespaces, in one run.
#
# usage: bench/throughput.sh [-p] [-n runs] [-t seconds] [-u seconds]
#
#	-n runs		measurement rounds, medians taken over them (3)
#	-t seconds	each iperf3 TCP run (5)
#	-u seconds	each iperf3 UDP probe of the rate search (2)
#	-p		then profile, whether the goals are met or not:
#			perf record -g on both engines (cbp2pd -E) during
#			one more TCP run through cbp2pd <-> cbp2pd, and
#			print the top of perf report; without -p, only when
#			a goal is not met and perf(1) is installed
#
# Tunnels, all over the veth 10.200.0.1 (A) <-> 10.200.0.2 (B):
#
#	veth	the bare veth itself, for reference
#	cbp2pd	cbp2pd <-> cbp2pd				10.99.0.0/24
#	cur	current wireguard-go <-> current wireguard-go	10.98.0.0/24
#		(Debian trixie's: tun TSO/GRO, UDP GSO/GRO; fetched once
#		by ../shared/tools/wireguard-go-current.sh or WG_GO_CURRENT)
#	bw	bookworm wireguard-go <-> bookworm wireguard-go	10.95.0.0/24
#		(/usr/bin/wireguard-go, 0.0.20220316, no offloads)
#	mix	cbp2pd (A) -> current wireguard-go (B)		10.97.0.0/24
#	relay	cbp2pd <-> cbp2pd through cbedged's relay	10.96.0.0/24
#
# iperf3 runs in A (client) towards B (server): A's daemon encrypts, B's
# decrypts.  Figures of each round, for each tunnel: iperf3 TCP with 1
# and 4 streams; UDP with 1392-byte datagrams, the highest rate received
# at <= 1% loss (one unlimited probe, then a bisection over the offered
# rate, UDP_PROBES probes in all; iperf3's socket buffers UDP_BUF at
# both ends); the median RTT of 50 pings 10 ms
# apart, and again with every vCPU kept awake (below); CPU seconds
# (utime + stime from /proc, of every process of the
# daemon: cbp2pd's parent and its children, wireguard-go's one process)
# per GB that iperf3 received, over both TCP runs, for each end.
#
# Each round measures the tunnels in a rotated order, so a change in the
# machine's other load does not always fall on the same one.  Ratios are
# taken within a round and their median printed; the goals of the issue
# "Data-plane speed" are judged on those medians.  Every process shares
# the machine's cores: only figures of one run compare.
#
# Relayed: two more cbp2pd (one in A, one in B) with a p2p-mesh token,
# routing relay, reach each other only through cbedged's relay worker
# (TLS 1.3) in a third namespace E, which A and B each reach over a veth
# of their own; its registry tells them of each other.  The relay's
# per-client token bucket is raised for the measurement (the output says
# so), so the figure is the relay path's, not the default cap.
#
# The last line: current wireguard-go on B handshakes anew and pings,
# answered by cbp2pd (whose parent runs the Noise part) or by current
# wireguard-go.
#
# CBP2P_OFFLOAD=off measures cbp2pd without tun TSO and UDP GSO/GRO;
# CBP2P_CRYPTO_WORKERS=N (0: none) sets cbp2pd's crypto workers (auto).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
RUNS=3
SECS=5
USECS=2
UDP_PROBES=7
UDP_LEN=1392		# the most a 1420 MTU tunnel carries unfragmented
UDP_LOSS=1		# percent
# iperf3's UDP socket buffers, at both ends (within net.core.rmem_max,
# 4 MiB here): with the default 208 KiB the receiving iperf3 itself,
# descheduled for a few milliseconds on a busy machine, drops datagrams,
# and even the bare veth loses more than 1% at 200 Mbit/s.
UDP_BUF=4M
PINGS=50
PROFILE=0
while getopts pn:t:u: opt; do
	case $opt in
	p)	PROFILE=1 ;;
	n)	RUNS=$OPTARG ;;
	t)	SECS=$OPTARG ;;
	u)	USECS=$OPTARG ;;
	*)	echo "usage: $0 [-p] [-n runs] [-t seconds] [-u seconds]" >&2
		exit 2 ;;
	esac
done
shift $((OPTIND - 1))
OFFLOAD=${CBP2P_OFFLOAD:-on}
CRYPTO_WORKERS=${CBP2P_CRYPTO_WORKERS:-auto}
WG_OLD=${WG_GO_BOOKWORM:-/usr/bin/wireguard-go}
WG_CUR=${WG_GO_CURRENT:-$("$TOP/../shared/tools/wireguard-go-current.sh")}
HZ=$(getconf CLK_TCK)
A=cbbencha$$
B=cbbenchb$$
E=cbbenche$$
# The relay's limit on what one client sends, for the relayed figures:
# its maximum, instead of the 1 Gbit/s default (cbedged.yaml(5)).
RELAY_RATE=4294967295		# relay_send_rate, bytes a second
RELAY_BURST=67108864		# relay_send_burst, bytes

W=
SPIN=
cleanup()
{
	trap '' INT TERM
	trap - EXIT
	[ -z "$SPIN" ] || kill $SPIN 2>/dev/null || true
	for ns in $A $B $E; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	sleep 0.5
	for ns in $A $B $E; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -z "$W" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
W=$(mktemp -d /tmp/cbp2p-bench.XXXXXX)

say()
{
	echo "bench: $*" >&2
}

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
crypto_workers: $CRYPTO_WORKERS
YAML
}

# The process of each daemon, by tunnel and end: pid.cbp2pd.A, ...
# cbp2pd NAME NS: starts cbp2pd with NAME.yaml in NS, records its pid.
cbp2pd()
{
	ip netns exec "$2" "$BIN/cbp2pd" -d -x "$BIN" -f "$W/$1.yaml" \
	    2>$1.log &
	echo $! > "pid.$1"
}

# cbp2pd a (A) <-> cbp2pd b (B)
token a 10.99.0.1/24 51821 "$(cat b.pub)" 10.200.0.2:51822 10.99.0.2/32
token b 10.99.0.2/24 51822 "$(cat a.pub)" 10.200.0.1:51821 10.99.0.1/32
cbp2pd a "$A"
cbp2pd b "$B"

# wggo BINARY NS IFNAME PRIV PORT PEERPUB ENDPOINT ALLOWED ADDR
wggo()
{
	WG_PROCESS_FOREGROUND=1 ip netns exec "$2" "$1" -f "$3" \
	    >/dev/null 2>&1 &
	echo $! > "pid.$3"
	while [ ! -S "/var/run/wireguard/$3.sock" ]; do sleep 0.1; done
	wg set "$3" private-key "$4" listen-port "$5" peer "$6" \
	    endpoint "$7" allowed-ips "$8"
	ip -n "$2" addr add "$9" dev "$3"
	ip -n "$2" link set "$3" up
}
# current wireguard-go <-> current wireguard-go
wggo "$WG_CUR" "$A" "gca$$" a.priv 51831 "$(cat b.pub)" 10.200.0.2:51832 \
    10.98.0.2/32 10.98.0.1/24
wggo "$WG_CUR" "$B" "gcb$$" b.priv 51832 "$(cat a.pub)" 10.200.0.1:51831 \
    10.98.0.1/32 10.98.0.2/24
# bookworm wireguard-go <-> bookworm wireguard-go
wggo "$WG_OLD" "$A" "goa$$" a.priv 51851 "$(cat b.pub)" 10.200.0.2:51852 \
    10.95.0.2/32 10.95.0.1/24
wggo "$WG_OLD" "$B" "gob$$" b.priv 51852 "$(cat a.pub)" 10.200.0.1:51851 \
    10.95.0.1/32 10.95.0.2/24
# cbp2pd c (A) -> current wireguard-go (B)
token c 10.97.0.1/24 51841 "$(cat b.pub)" 10.200.0.2:51842 10.97.0.2/32
cbp2pd c "$A"
wggo "$WG_CUR" "$B" "gcc$$" b.priv 51842 "$(cat c.pub)" 10.200.0.1:51841 \
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
cbp2pd d "$A"
cbp2pd e "$B"

# Every path up within WAIT_SECS of wall-clock time (a ping fails at
# once while a tunnel's interface is missing: a deadline, not a count).
WAIT_SECS=60
end=$(($(date +%s) + WAIT_SECS))
for dst in 10.99.0.2 10.98.0.2 10.95.0.2 10.97.0.2 10.96.0.2; do
	until ip netns exec "$A" ping -c 1 -W 1 "$dst" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt $end ] ||
		    { echo "bench: no path to $dst" >&2; exit 1; }
		sleep 0.1
	done
done

ip netns exec "$B" iperf3 -s -D -I "$W/iperf.pid" >/dev/null
sleep 0.3

# Per tunnel: destination in B, and the daemons at A and at B.
dst_veth=10.200.0.2	ends_veth=""
dst_cbp2pd=10.99.0.2	ends_cbp2pd="pid.a pid.b"
dst_cur=10.98.0.2	ends_cur="pid.gca$$ pid.gcb$$"
dst_bw=10.95.0.2	ends_bw="pid.goa$$ pid.gob$$"
dst_mix=10.97.0.2	ends_mix="pid.c pid.gcc$$"
dst_relay=10.96.0.2	ends_relay=""
name_veth="bare veth"
name_cbp2pd="cbp2pd <-> cbp2pd"
name_cur="current wireguard-go <-> itself"
name_bw="bookworm wireguard-go <-> itself"
name_mix="cbp2pd -> current wireguard-go"
name_relay="cbp2pd <-> cbp2pd via relay"

# ticks PIDFILE: clock ticks of user and system time of the process in
# PIDFILE and of all its descendants, alive now.
ticks()
{
	ps -e -o pid= -o ppid= | awk -v root="$(cat "$1")" '
	    { parent[$1] = $2 }
	    END {
		keep[root] = 1
		do {
			n = 0
			for (p in parent)
				if (!(p in keep) && (parent[p] in keep)) {
					keep[p] = 1
					n++
				}
		} while (n > 0)
		for (p in keep)
			print p
	    }' | while read -r p; do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# iperf DST ARGS...: the client's JSON in r.json; one retry, since an
# iperf3 server can refuse a test right after the previous one.
iperf()
{
	d=$1
	shift
	ip netns exec "$A" iperf3 -c "$d" -J "$@" > r.json 2>/dev/null ||
	    { sleep 1; ip netns exec "$A" iperf3 -c "$d" -J "$@" > r.json; } ||
	    { say "iperf3 -c $d $* failed: counted as 0"; echo '{}' > r.json; }
}

# put RUN FIGURE TUNNEL VALUE
put()
{
	echo "$1 $2 $3 $4" >> results
}

# tcp RUN TUNNEL: TCP 1 and 4 streams, and CPU per GB at each end.
tcp()
{
	eval "d=\$dst_$2 ends=\$ends_$2"
	set -- "$1" "$2" $ends
	ta0=0 tb0=0 ta1=0 tb1=0 bytes=0
	[ $# -eq 2 ] || { ta0=$(ticks "$3"); tb0=$(ticks "$4"); }
	for streams in 1 4; do
		iperf "$d" -t "$SECS" -P $streams
		put "$1" tcp$streams "$2" "$(jq \
		    '(.end.sum_received.bits_per_second // 0) / 1e6' r.json)"
		bytes=$((bytes + $(jq '.end.sum_received.bytes // 0' r.json)))
	done
	[ $# -eq 2 ] || { ta1=$(ticks "$3"); tb1=$(ticks "$4"); }
	[ $# -eq 2 ] && return
	put "$1" cpu_a "$2" "$(echo "$ta0 $ta1 $bytes $HZ" |
	    awk '{ print ($3 > 0 ? ($2 - $1) / $4 / ($3 / 1e9) : 0) }')"
	put "$1" cpu_b "$2" "$(echo "$tb0 $tb1 $bytes $HZ" |
	    awk '{ print ($3 > 0 ? ($2 - $1) / $4 / ($3 / 1e9) : 0) }')"
	put "$1" cpu "$2" "$(echo "$ta0 $ta1 $tb0 $tb1 $bytes $HZ" |
	    awk '{ print ($5 > 0 ? \
		($2 - $1 + $4 - $3) / $6 / ($5 / 1e9) : 0) }')"
}

# udpprobe DST MBITS: "sent received loss" (Mbit/s, Mbit/s, percent) of
# one UDP run at MBITS offered (0: as fast as iperf3 sends).
udpprobe()
{
	iperf "$1" -u -l $UDP_LEN -w $UDP_BUF -b "$2"M -t "$USECS"
	jq -r '"\((.end.sum_sent.bits_per_second // 0) / 1e6)
	    \((.end.sum_received.bits_per_second // 0) / 1e6)
	    \(.end.sum_received.lost_percent // 100)"' r.json | tr '\n' ' '
}

# udp RUN TUNNEL: the highest rate received at <= UDP_LOSS % loss.  One
# probe as fast as iperf3 sends; if it loses more, a bisection over the
# offered rate between 0 and what that probe sent, starting from what
# it got through.
udp()
{
	eval "d=\$dst_$2"
	set -- "$1" "$2" $(udpprobe "$d" 0)
	best=0
	if awk "BEGIN { exit !($5 <= $UDP_LOSS) }"; then
		best=$4
	else
		lo=0 hi=$3 try=$4 i=1
		while [ $i -lt $UDP_PROBES ]; do
			set -- "$1" "$2" $(udpprobe "$d" "$try")
			if awk "BEGIN { exit !($5 <= $UDP_LOSS) }"; then
				lo=$try
				best=$(awk "BEGIN { print ($4 > $best) ? $4 : $best }")
			else
				hi=$try
			fi
			try=$(awk "BEGIN { print ($lo + $hi) / 2 }")
			i=$((i + 1))
		done
	fi
	put "$1" udp "$2" "$best"
}

# rtt RUN TUNNEL [FIGURE]: median of PINGS pings 10 ms apart, after a
# warm-up, as FIGURE (rtt).
rtt()
{
	eval "d=\$dst_$2"
	ip netns exec "$A" ping -c 3 -i 0.05 -W 1 -q "$d" >/dev/null 2>&1 ||
	    true
	put "$1" "${3:-rtt}" "$2" "$(ip netns exec "$A" ping -c $PINGS -i 0.01 -W 1 \
	    "$d" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n | awk '
	    { v[NR] = $1 }
	    END {
		if (NR == 0) print 0
		else if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2
	    }')"
}

# awake CMD...: CMD with an idle-priority (SCHED_IDLE) busy loop on every
# CPU, so that no vCPU halts between pings.  On a virtual machine, the
# wake-up of a halted vCPU (the host scheduling it again) costs 0.1-0.3
# ms and comes twice in a round trip through a tunnel whose daemons
# sleep between packets: this figure shows the daemons' own latency, as
# on a machine with other work.  A SCHED_IDLE task yields the CPU to
# any other at once.
awake()
{
	for c in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$c" chrt -i 0 sh -c 'while :; do :; done' &
		SPIN="$SPIN $!"
	done
	"$@"
	kill $SPIN 2>/dev/null || true
	wait $SPIN 2>/dev/null || true
	SPIN=
}

say "cbp2pd offload $OFFLOAD, crypto workers $CRYPTO_WORKERS; $RUNS rounds of TCP ${SECS} s, UDP probes" \
    "${USECS} s; about $((RUNS * (5 * (2 * (SECS + 1) + UDP_PROBES * \
    (USECS + 1) + 2) + 2 * (SECS + 1)) / 60 + 1)) minutes"
TUNNELS="veth cbp2pd cur bw mix"
: > results
start=$(date +%s)
run=1
while [ $run -le "$RUNS" ]; do
	# Rotate the order by one tunnel each round.
	set -- $TUNNELS
	i=1
	while [ $i -lt $run ]; do
		t=$1
		shift
		set -- "$@" "$t"
		i=$((i + 1))
	done
	for t in "$@"; do
		eval "say \"round $run/$RUNS: \$name_$t\""
		tcp $run $t
		udp $run $t
		rtt $run $t
		awake rtt $run $t rtt_awake
	done
	say "round $run/$RUNS: $name_relay"
	tcp $run relay
	run=$((run + 1))
done

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
hs_cbp2pd=$(hs "gcc$$" "$(cat c.pub)" 10.200.0.1:51841 10.97.0.1/32 \
    10.97.0.1)
hs_wggo=$(hs "gcb$$" "$(cat a.pub)" 10.200.0.1:51831 10.98.0.1/32 \
    10.98.0.1)
elapsed=$(($(date +%s) - start))

# The report.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "make bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($cpu)," \
    "kernel $(uname -r), load average at the end $(cut -d' ' -f1-3 \
    /proc/loadavg)"
echo "iperf3 $(iperf3 --version | sed -n '1s/^iperf \([^ ]*\).*/\1/p');" \
    "current wireguard-go: $("$WG_CUR" --version | sed -n 1p)" \
    "($WG_CUR); bookworm wireguard-go: $("$WG_OLD" --version |
    sed -n 1p); cbp2pd offload $OFFLOAD, crypto workers $CRYPTO_WORKERS"
echo "$RUNS rounds in ${elapsed} s: iperf3 TCP ${SECS} s, UDP ${UDP_LEN}-byte" \
    "datagrams (${UDP_PROBES} probes of ${USECS} s, -w $UDP_BUF), ${PINGS}" \
    "pings 10 ms apart (idle, then with a SCHED_IDLE spinner on each CPU);" \
    "iperf3 client in A, server in B"
echo "Every process shares the same cores with whatever else runs on the" \
    "machine: absolute figures are noisy; compare ratios within one run."
echo
awk -v runs="$RUNS" -v relay_rate="$RELAY_RATE" -v relay_burst="$RELAY_BURST" \
    -v hs_c="$hs_cbp2pd" -v hs_g="$hs_wggo" '
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	if (n == 0)
		return ""
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# The median over rounds of f(tunnel), or of the ratio f(t) / f(u).
function med(f, t, u,    r, n, a) {
	n = 0
	for (r = 1; r <= runs; r++) {
		if (!((r, f, t) in v))
			continue
		if (u == "")
			a[++n] = v[r, f, t]
		else if (((r, f, u) in v) && v[r, f, u] > 0)
			a[++n] = v[r, f, t] / v[r, f, u]
	}
	return median(a, n)
}
function fmt(x) {
	if (x == "")
		return "-"
	if (x >= 100)
		return sprintf("%.0f", x)
	if (x >= 10)
		return sprintf("%.1f", x)
	if (x >= 1)
		return sprintf("%.2f", x)
	return sprintf("%.3f", x)
}
function ratio(x) {
	return x == "" ? "-" : sprintf("%.2f", x)
}
function row(label, f) {
	printf "%-26s %8s %8s %8s %8s %8s %7s %7s %7s\n", label,
	    fmt(med(f, "veth")), fmt(med(f, "cbp2pd")), fmt(med(f, "cur")),
	    fmt(med(f, "bw")), fmt(med(f, "mix")),
	    ratio(med(f, "cbp2pd", "cur")), ratio(med(f, "cbp2pd", "bw")),
	    ratio(med(f, "mix", "cur"))
}
function goal(label, f, cmp, want,    x, ok) {
	x = med(f, "cbp2pd", "cur")
	ok = x != "" && (cmp == ">=" ? x >= want : x <= want)
	printf "  %-44s %s %.1fx: %5.2fx  %s\n", label, cmp, want, x,
	    ok ? "met" : "NOT MET"
	if (!ok)
		unmet++
}
{ v[$1, $2, $3] = $4 }
END {
	# The RTT each tunnel adds to the bare veth, per round.
	# Idle and with the vCPUs awake: over_rtt, over_rtt_awake.
	split("cbp2pd cur bw mix", ts, " ")
	split("rtt rtt_awake", fs, " ")
	for (r = 1; r <= runs; r++)
		for (i = 1; i <= 4; i++)
			for (k = 1; k <= 2; k++)
				if (((r, fs[k], ts[i]) in v) &&
				    ((r, fs[k], "veth") in v))
					v[r, "over_" fs[k], ts[i]] = \
					    v[r, fs[k], ts[i]] - \
					    v[r, fs[k], "veth"]

	printf "%-26s %8s %8s %8s %8s %8s %7s %7s %7s\n", "median of " runs \
	    " rounds", "bare", "cbp2pd", "wg-go", "wg-go", "cbp2pd", \
	    "cbp2pd/", "cbp2pd/", "mix/"
	printf "%-26s %8s %8s %8s %8s %8s %7s %7s %7s\n", "", "veth", "<->", \
	    "current", "bookworm", "->cur", "cur", "bookwrm", "cur"
	row("TCP 1 stream, Mbit/s", "tcp1")
	row("TCP 4 streams, Mbit/s", "tcp4")
	row("UDP <=1% loss, Mbit/s", "udp")
	row("ping RTT median, ms", "rtt")
	row("RTT over bare veth, ms", "over_rtt")
	row("RTT, vCPUs awake, ms", "rtt_awake")
	row("  over bare veth, ms", "over_rtt_awake")
	row("CPU s/GB, sender (A)", "cpu_a")
	row("CPU s/GB, receiver (B)", "cpu_b")
	row("CPU s/GB, both ends", "cpu")
	print ""
	print "Ratios are medians of the ratios within each round; for RTT and"
	print "CPU lower is better.  mix: cbp2pd in A sending to current"
	print "wireguard-go in B (CPU: cbp2pd sender, wireguard-go receiver)."
	print "vCPUs awake: a SCHED_IDLE busy loop on each CPU, so that no"
	print "vCPU halts between pings and none waits for the host to wake it."
	print ""
	printf "%-34s %10s %10s %8s\n", "iperf3 TCP via relay", "relayed", \
	    "direct", "ratio"
	printf "%-34s %10s %10s %8s\n", "1 stream, Mbit/s", \
	    fmt(med("tcp1", "relay")), fmt(med("tcp1", "cbp2pd")), \
	    ratio(med("tcp1", "relay", "cbp2pd"))
	printf "%-34s %10s %10s %8s\n", "4 streams, Mbit/s", \
	    fmt(med("tcp4", "relay")), fmt(med("tcp4", "cbp2pd")), \
	    ratio(med("tcp4", "relay", "cbp2pd"))
	printf "%-34s %s\n", "relay token bucket raised to", \
	    "relay_send_rate " relay_rate " B/s, relay_send_burst " \
	    relay_burst " B"
	printf "%-34s %10s %10s\n", "handshake + first ping, ms", "cbp2pd", \
	    "wg-go cur"
	printf "%-34s %10s %10s\n", "  (current wireguard-go initiates)", \
	    hs_c, hs_g
	print ""
	print "Goals (issue \"Data-plane speed\"), cbp2pd <-> cbp2pd against" \
	    " current wireguard-go <-> itself:"
	goal("TCP one stream", "tcp1", ">=", 2)
	goal("TCP four streams", "tcp4", ">=", 2)
	goal("UDP received at <= 1% loss", "udp", ">=", 2)
	goal("RTT overhead over bare veth", "over_rtt", "<=", 0.5)
	goal("CPU seconds per GB (both ends)", "cpu", "<=", 0.5)
	printf "  %-44s    (no goal): %5.2fx\n", \
	    "RTT overhead, vCPUs awake", med("over_rtt_awake", "cbp2pd", "cur")
	print unmet + 0 > "unmet"

	print ""
	print "Each round (tunnel: TCP 1 / 4 streams Mbit/s, UDP Mbit/s," \
	    " RTT ms, CPU s/GB A + B):"
	split("veth cbp2pd cur bw mix relay", all, " ")
	for (r = 1; r <= runs; r++)
		for (i = 1; i <= 6; i++) {
			t = all[i]
			if (!((r, "tcp1", t) in v))
				continue
			printf "  %d %-7s %7s %7s %7s %7s", r, t,
			    fmt(v[r, "tcp1", t]), fmt(v[r, "tcp4", t]),
			    ((r, "udp", t) in v) ? fmt(v[r, "udp", t]) : "-",
			    ((r, "rtt", t) in v) ? fmt(v[r, "rtt", t]) : "-"
			if ((r, "cpu", t) in v)
				printf " %6s + %-6s", fmt(v[r, "cpu_a", t]),
				    fmt(v[r, "cpu_b", t])
			printf "\n"
		}
}' results

# The profile: where both engines spend a TCP run through cbp2pd.
[ $PROFILE -eq 1 ] || { [ "$(cat unmet)" -gt 0 ] &&
    command -v perf >/dev/null; } || exit 0
engines=$(for f in pid.a pid.b; do
	ps -e -o pid= -o ppid= -o args= | awk -v p="$(cat $f)" \
	    '$2 == p && $4 == "-E" { print $1 }'
done | paste -sd, -)
say "profiling engines $engines"
perf record -q -g -o perf.data -p "$engines" -- sleep $((SECS + 1)) \
    2>/dev/null &
sleep 0.5
iperf 10.99.0.2 -t "$SECS" -P 1
wait $!
echo
[ $PROFILE -eq 1 ] || echo "A goal is not met: where the engines' time goes."
echo "perf record -g -p $engines (both engines, cbp2pd -E) during iperf3 TCP" \
    "1 stream, $SECS s, through cbp2pd <-> cbp2pd: $(jq \
    '.end.sum_received.bits_per_second / 1e6 | floor' r.json) Mbit/s"
echo "by shared object:"
perf report -i perf.data --stdio --no-children -g none --sort dso \
    2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
echo "by symbol (flat, self; stripped libraries' addresses summed per library):"
perf report -i perf.data --stdio --no-children -g none --sort dso,sym \
    2>/dev/null | grep -v '^#' | grep -v '^$' | awk '
    $4 ~ /^0x/ { s[$2] += $1; n[$2]++; next }
    { line[++m] = $0 }
    END {
	for (d in s)
		printf "    %5.2f%%  %-22s [.] (%d addresses)\n", s[d], d, n[d]
	for (i = 1; i <= m && i <= 35; i++)
		print line[i]
    }'
