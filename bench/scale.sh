#!/bin/sh
# make bench, one node at scale: cbp2pd (as cbp2p-wg, configured through
# wg(8) only) with PEERS peers, beside current wireguard-go with the same
# peers for reference, one after the other in the same namespaces.
#
# usage: bench/scale.sh [-n peers] [-t seconds] [-w window]
#
#	-n peers	peers configured through wg set (1000)
#	-t seconds	idle and handshake-load measurements (10)
#	-w window	initiations the load keeps outstanding (256)
#
# Figures, for each implementation:
#   - memory per peer: resident set (VmRSS) of every process of the daemon
#     (cbp2pd: the root parent and the engine) before the peers and
#     after, divided by the number of peers; again once every peer has a
#     session, after the handshake load;
#   - the time wg set took for the peers, 100 to a command;
#   - idle CPU: utime + stime of the daemon over the seconds given, with
#     every peer configured (an endpoint each, no traffic); again after
#     the load, with every peer holding a session;
#   - handshakes completed per second: bench/hs_load in namespace G sends
#     real initiations from the peers' keys, each key from its own source
#     address (under load a responder answers each address at most 20
#     times a second), with mac2 after a cookie reply; its window keeps
#     WINDOW initiations outstanding.  The daemon's CPU seconds over the run
#     give handshakes per CPU second (per core), and the generator's own
#     CPU seconds are printed, since it shares the machine's cores (on
#     a machine with other load, handshakes per second is what the
#     cores left gave; per CPU second is the daemon's own cost).  A
#     responder's handshake completes, for wg show, only with the first
#     data packet, which the load never sends; it checks every 8th
#     response in full instead (the keys derive).
# And lookups in lib/wg_allowedips.c's trie over 10,000 prefixes
# (bench/aip_bench).
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/obj/bin
PEERS=1000
SECS=10
WINDOW=256
while getopts n:t:w: opt; do
	case $opt in
	w)	WINDOW=$OPTARG ;;
	n)	PEERS=$OPTARG ;;
	t)	SECS=$OPTARG ;;
	*)	echo "usage: $0 [-n peers] [-t seconds] [-w window]" >&2
		exit 2 ;;
	esac
done
[ "$PEERS" -ge 1 ] && [ "$PEERS" -le 16000 ] ||
    { echo "scale: 1 to 16000 peers" >&2; exit 2; }
WG_CUR=${WG_GO_CURRENT:-$("$TOP/../shared/tools/wireguard-go-current.sh")}
HZ=$(getconf CLK_TCK)
S=cbscales$$
G=cbscaleg$$

W=
cleanup()
{
	trap '' INT TERM
	trap - EXIT
	for ns in $S $G; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	sleep 0.5
	for ns in $S $G; do
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
W=$(mktemp -d /tmp/cbp2p-scale.XXXXXX)

say()
{
	echo "scale: $*" >&2
}

"$TOP/scripts/mkuser.sh" _cbp2p
cd "$W"
umask 077
for ns in $S $G; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add "sv$$s" netns "$S" type veth peer "sv$$g" netns "$G"
ip -n "$S" addr add 10.210.0.1/24 dev "sv$$s"
ip -n "$G" addr add 10.210.0.2/24 dev "sv$$g"
ip -n "$S" link set "sv$$s" up
ip -n "$G" link set "sv$$g" up
# The peers' source addresses: 10.204.0.0/18, all local to G (AnyIP).
SRCNET=10.204.0.0/18
ip -n "$G" route add local $SRCNET dev lo
ip -n "$S" route add $SRCNET via 10.210.0.2

"$TOP/bench/hs_load" -g "$PEERS" > peers.keys
wg genkey > s.priv
wg pubkey < s.priv > s.pub

# A wg set command line per 100 peers: peer i gets 10.100.0.0/16's i-th
# address as its allowed IP and its own source address as endpoint.
awk -v peers="$PEERS" '
function dotted(n) {
	return sprintf("%d.%d.%d.%d", int(n / 16777216) % 256,
	    int(n / 65536) % 256, int(n / 256) % 256, n % 256)
}
{
	i = NR
	line = line " peer " $2 " allowed-ips " dotted(174325760 + i) "/32" \
	    " endpoint " dotted(181141504 + i) ":51820"
	if (i % 100 == 0 || i == peers) {
		print line
		line = ""
	}
}' peers.keys > peers.set

# pids PID: PID and all its descendants.
pids()
{
	ps -e -o pid= -o ppid= | awk -v root="$1" '
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
	    }'
}

# ticks PID: clock ticks of user and system time of PID's tree.
ticks()
{
	for p in $(pids "$1"); do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# rss PID: KiB resident, each process of PID's tree, "comm=KiB ..." and
# the sum last.
rss()
{
	for p in $(pids "$1"); do
		awk -v p="$p" '
		    /^Name:/ { n = $2 }
		    /^VmRSS:/ { print n "[" p "]=" $2 }' "/proc/$p/status" \
		    2>/dev/null || true
	done | sort | awk -F= '{ t += $2; printf "%s ", $0 } END { print t }'
}

# idle PID: CPU percent of one core PID's tree used over SECS.
idle()
{
	t0=$(ticks "$1")
	sleep "$SECS"
	t1=$(ticks "$1")
	echo "$t0 $t1 $HZ $SECS" | awk '{ printf "%.2f", 100 * ($2 - $1) / $3 / $4 }'
}

# node NAME PROGRAM: the figures for one implementation.
node()
{
	ifn=cbs$$$1
	say "$1: $PEERS peers"
	WG_PROCESS_FOREGROUND=1 ip netns exec "$S" "$2" -f "$ifn" \
	    > "$1.log" 2>&1 &
	root=$!
	n=0
	until [ -S "/var/run/wireguard/$ifn.sock" ]; do
		n=$((n + 1))
		[ $n -lt 100 ] || { echo "scale: $1 did not start" >&2;
		    cat "$1.log" >&2; exit 1; }
		sleep 0.1
	done
	wg set "$ifn" private-key s.priv listen-port 51820
	ip -n "$S" addr add 10.100.255.254/16 dev "$ifn"
	ip -n "$S" link set "$ifn" up
	sleep 1
	rss0=$(rss $root)
	t0=$(date +%s.%N)
	while read -r line; do
		# shellcheck disable=SC2086
		wg set "$ifn" $line
	done < peers.set
	t1=$(date +%s.%N)
	got=$(wg show "$ifn" peers | wc -l)
	[ "$got" -eq "$PEERS" ] ||
	    { echo "scale: $1 has $got peers, not $PEERS" >&2; exit 1; }
	sleep 1
	rss1=$(rss $root)
	idle0=$(idle $root)
	c0=$(ticks $root)
	ip netns exec "$G" "$TOP/bench/hs_load" -k peers.keys \
	    -p "$(cat s.pub)" -d 10.210.0.1:51820 -s $SRCNET -t "$SECS" -w "$WINDOW" \
	    > "$1.hs" 2> "$1.hs.err" ||
	    { cat "$1.hs.err" >&2; exit 1; }
	c1=$(ticks $root)
	rss2=$(rss $root)
	idle1=$(idle $root)
	echo "$1 $(echo "$rss0" | awk '{ print $NF }')" \
	    "$(echo "$rss1" | awk '{ print $NF }')" \
	    "$(echo "$rss2" | awk '{ print $NF }')" \
	    "$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')" \
	    "$idle0 $idle1 $((c1 - c0)) -" \
	    "$(jq -r '"\(.handshakes_per_second) \(.responses) \(.initiations_sent) \(.cookie_replies) \(.lost) \(.checked) \(.check_failed) \(.generator_cpu_seconds)"' "$1.hs")" \
	    >> figures
	echo "$1: RSS before peers: $rss0 KiB" >> details
	echo "$1: RSS with $PEERS peers: $rss1 KiB" >> details
	echo "$1: RSS after the handshake load: $rss2 KiB" >> details
	echo "$1: hs_load: $(cat "$1.hs")" >> details
	kill "$root"
	wait "$root" 2>/dev/null || true
	n=0
	while [ -e "/var/run/wireguard/$ifn.sock" ] && [ $n -lt 50 ]; do
		n=$((n + 1))
		sleep 0.1
	done
}

: > figures
: > details
node cbp2pd "$BIN/cbp2p-wg"
node wggo "$WG_CUR"

echo "make bench, one node at scale: $(date -u '+%Y-%m-%d %H:%M UTC')," \
    "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$PEERS peers through wg set (100 to a command); cbp2pd as cbp2p-wg" \
    "(root parent + engine); current wireguard-go: $("$WG_CUR" --version |
    sed -n 1p); handshake load over $SECS s (after 1 s of warm-up)," \
    "$WINDOW initiations outstanding; CPU figures in clock ticks of" \
    "$((1000 / HZ)) ms"
echo
awk -v peers="$PEERS" -v secs="$SECS" -v hz="$HZ" '
{
	for (i = 2; i <= NF; i++)
		v[$1, i] = $i
}
function row(label, i, fmt) {
	printf "%-44s " fmt " " fmt "\n", label, v["cbp2pd", i], v["wggo", i]
}
function row2(label, a, b) {
	printf "%-44s %12s %12s\n", label, a["cbp2pd"], a["wggo"]
}
END {
	printf "%-44s %12s %12s\n", "", "cbp2pd", "wireguard-go"
	row("RSS before peers, KiB", 2, "%12d")
	row("RSS with the peers, KiB", 3, "%12d")
	split("cbp2pd wggo", im, " ")
	for (j = 1; j <= 2; j++) {
		t = im[j]
		pp[t] = sprintf("%.2f", (v[t, 3] - v[t, 2]) / peers)
		ps[t] = sprintf("%.2f", (v[t, 4] - v[t, 2]) / peers)
		# The ticks of the daemon span the warm-up second too.
		hc[t] = sprintf("%.0f", v[t, 8] > 0 ? \
		    v[t, 11] / (v[t, 8] / hz * secs / (secs + 1)) : 0)
		cores[t] = sprintf("%.2f", v[t, 8] / hz / (secs + 1))
	}
	row2("memory per peer, KiB", pp)
	row("RSS after the handshake load, KiB", 4, "%12d")
	row2("memory per peer with a session, KiB", ps)
	row("wg set of all peers, s", 5, "%12s")
	row("idle CPU, peers configured, % of a core", 6, "%12s")
	row("idle CPU, peers with sessions, % of a core", 7, "%12s")
	row("handshakes completed per second", 10, "%12s")
	row2("daemon CPU during the load, cores", cores)
	row2("handshakes per CPU second of the daemon", hc)
	row("initiations sent", 12, "%12s")
	row("cookie replies (warm-up included)", 13, "%12s")
	row("initiations lost (1 s)", 14, "%12s")
	row("responses checked in full", 15, "%12s")
	row("  of which failed", 16, "%12s")
	row("generator CPU seconds", 17, "%12s")
}' figures
echo
cat details
echo
"$TOP/bench/aip_bench" 10000
