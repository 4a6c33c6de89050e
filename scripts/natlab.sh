#!/bin/sh
# natlab.sh: a NAT lab in network namespaces, for tests and for
# reproducing a field problem by hand.
#
# usage: natlab.sh -p PREFIX up NAME:KIND[/mtu=N]...
#        natlab.sh -p PREFIX down | show
#        natlab.sh -p PREFIX ns|addr|pub NAME
#        natlab.sh -p PREFIX exec NAME COMMAND [ARG...]
#
# KIND is public, cone, symmetric, cgnat or blocked.  PREFIX (letters,
# digits, _; at most 16) starts the name of every namespace of the lab,
# so labs with different prefixes live side by side; NAME (same
# characters) names a node.  Must run as root.
#
# Topology.  Nothing leaves the machine: every address lives on veth
# pairs between namespaces this script makes, and no interface of the
# machine's own namespace is touched.  Node number i is the position of
# its spec on the command line, counted from 1.
#
#   PFX-inet   the "internet": bridge br0 (203.0.113.254/24, forwarding
#              off, so it is a gateway that goes nowhere) joining every
#              public interface; bridge ports are "edge" and "n<i>".
#   PFX-edge   eth0 203.0.113.1/24, default via .254: where servers
#              (reflector, registry, relay) of a test run.
#   NAME:public     PFX-NAME, eth0 203.0.113.(10+i), default via .254.
#   NAME:cone       PFX-NAME-r router: wan 203.0.113.(10+i), lan
#                   192.168.i.1/24; PFX-NAME node: eth0 192.168.i.2,
#                   default via .1.  Masquerade keeps the source port
#                   when it is free: endpoint-independent mapping.
#   NAME:symmetric  the same with "masquerade fully-random": every new
#                   flow (so every destination) gets a random external
#                   port: address-and-port-dependent mapping.
#   NAME:cgnat      PFX-NAME-c carrier: wan 203.0.113.(10+i), lan
#                   100.64.i.1/24, masquerading 100.64.i.0/24;
#                   PFX-NAME-r home router: wan 100.64.i.2 (default via
#                   .1), lan 192.168.i.1/24; node 192.168.i.2.  Two
#                   cone NATs in a row.
#   NAME:blocked    like cone, but the router drops every UDP packet it
#                   would forward outwards; TCP passes (relay fallback).
#
# Every router (home and carrier) has ip_forward on and one nftables
# table "ip natlab": a counted masquerade on "wan" for its inside
# prefix, and a firewall that drops whatever comes in on "wan" that
# conntrack does not know (ICMP echo to the router aside).  So filtering
# is per connection, as on a real home router, and a hole punch must
# open it from inside first.  Dropping in the filter hooks also keeps an
# unsolicited packet from leaving a conntrack entry that would steal the
# mapping the inside host is about to make (which would break punching
# on a Linux NAT when the peer's packet arrives first).
#
# "/mtu=N" lowers the path MTU of one node: the link nearest the
# internet of that node (the public node's own link, the router's wan,
# the carrier's wan for cgnat) gets MTU N on both ends, and every other
# host on the internet gets a host route to that public address with
# "mtu N", so big packets towards the node are fragmented (or refused
# with DF) at the sender instead of being dropped silently by the bridge.
# A node behind a router learns the smaller MTU from the router's ICMP
# "fragmentation needed", as on a real path.
#
# The lab's description is kept in the namespaces themselves (the alias
# of each node's bridge port in PFX-inet), so "down" leaves nothing
# behind.  Commands:
#   up      build the lab; fails if any namespace PFX-* exists; on an
#           error midway it removes what it built.
#   down    kill the processes left in the lab's namespaces (TERM, then
#           KILL after a second) and delete every PFX-* namespace;
#           succeeds when there is nothing to remove.
#   show    a table of the nodes: kind, namespaces, addresses, MTU.
#   ns X    the namespace of X: a node NAME, NAME-r, NAME-c, edge, inet.
#   addr X  the node's own address (edge: 203.0.113.1).
#   pub X   the address the internet sees X at (its outermost router's).
#   exec X CMD...  run CMD in X's namespace (ip netns exec).
set -eu

PROG=natlab.sh
NET=203.0.113
EDGE=$NET.1
GW=$NET.254

usage()
{
	echo "usage: $PROG -p PREFIX up NAME:KIND[/mtu=N]... | down | show |" \
	    "ns NAME | addr NAME | pub NAME | exec NAME COMMAND..." >&2
	echo "       KIND: public cone symmetric cgnat blocked" >&2
	exit 2
}

die()
{
	echo "$PROG: $*" >&2
	exit 1
}

valid_word()
{
	case $1 in
	''|*[!A-Za-z0-9_]*) return 1 ;;
	esac
	[ ${#1} -le 16 ]
}

PFX=
while getopts p:h opt; do
	case $opt in
	p) PFX=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
[ -n "$PFX" ] || usage
valid_word "$PFX" || die "bad prefix '$PFX' (letters, digits, _; 1-16)"
[ "$(id -u)" -eq 0 ] || die "must run as root"
INET=$PFX-inet

# The lab's namespaces: the first dash-separated part of the name is
# PFX, so prefix "a" never matches "ab-..." (a prefix has no dash).
lab_namespaces()
{
	ip netns list 2>/dev/null | awk -v p="$PFX-" \
	    'substr($1, 1, length(p)) == p { print $1 }'
}

run()
{
	_ns=$1
	shift
	ip netns exec "$_ns" "$@"
}

mkns()
{
	ip netns add "$1"
	ip -n "$1" link set lo up
}

# veth NS1 IF1 NS2 IF2 MTU: a veth pair made straight inside the two
# namespaces (names need be unique per namespace only), both ends up.
veth()
{
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	if [ "$5" != 1500 ]; then
		ip -n "$1" link set "$2" mtu "$5"
		ip -n "$3" link set "$4" mtu "$5"
	fi
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# inet_port NS IF PORT ADDR MTU: plug NS into the internet's bridge.
inet_port()
{
	veth "$1" "$2" "$INET" "$3" "$5"
	ip -n "$INET" link set "$3" master br0
	ip -n "$1" addr add "$4/24" dev "$2"
	ip -n "$1" route add default via "$GW"
}

# router NS KIND INSIDE-PREFIX (locals start with _: sh has no scope): forwarding, masquerade and firewall.
router()
{
	_r=$1 _kind=$2 _inside=$3
	run "$_r" sysctl -qw net.ipv4.ip_forward=1
	masq="masquerade"
	[ "$_kind" = symmetric ] && masq="masquerade fully-random"
	udpdrop=
	[ "$_kind" = blocked ] &&
	    udpdrop='oifname "wan" meta l4proto udp counter drop'
	run "$_r" nft -f - <<EOF
table ip natlab {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" ip saddr $_inside counter $masq
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan" ct state established,related accept
		iifname "wan" icmp type echo-request accept
		iifname "wan" counter drop
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		$udpdrop
		iifname "wan" ct state established,related accept
		iifname "wan" counter drop
	}
}
EOF
}

# node_info NAME: sets KIND IDX MTU from the bridge port alias, or fails.
node_info()
{
	line=$(ip -n "$INET" -o link show 2>/dev/null |
	    sed -n 's/.*alias natlab \(.*\)$/\1/p' |
	    awk -v n="$1" '$1 == n { print; exit }')
	[ -n "$line" ] || return 1
	# shellcheck disable=SC2086 # fields on purpose
	set -- $line
	KIND=$2 IDX=$3 MTU=$4
}

# Addresses of a node from its kind and number.
own_addr()
{
	case $KIND in
	public) echo "$NET.$((10 + IDX))" ;;
	*) echo "192.168.$IDX.2" ;;
	esac
}

pub_addr()
{
	echo "$NET.$((10 + IDX))"
}

all_nodes()
{
	ip -n "$INET" -o link show 2>/dev/null |
	    sed -n 's/.*alias natlab \(.*\)$/\1/p'
}

# shellcheck disable=SC2086,SC2116 # pid lists split on purpose
cmd_down()
{
	nss=$(lab_namespaces)
	[ -n "$nss" ] || return 0
	pids=
	for ns in $nss; do
		pids="$pids $(ip netns pids "$ns" 2>/dev/null || true)"
	done
	pids=$(echo $pids)
	if [ -n "$pids" ]; then
		kill $pids 2>/dev/null || true
		i=0
		while [ $i -lt 10 ]; do
			alive=
			for p in $pids; do
				kill -0 "$p" 2>/dev/null && alive="$alive $p"
			done
			[ -z "$alive" ] && break
			sleep 0.1
			i=$((i + 1))
		done
		if [ -n "$alive" ]; then
			kill -9 $alive 2>/dev/null || true
		fi
	fi
	for ns in $nss; do
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -z "$(lab_namespaces)" ] || die "could not remove: $(lab_namespaces)"
}

# OUT_i and OUTDEV_i (set and read with eval): node i's outermost
# namespace and its interface on the internet.
# shellcheck disable=SC2034,SC2154
cmd_up()
{
	[ $# -ge 1 ] || usage
	[ -z "$(lab_namespaces)" ] ||
	    die "lab '$PFX' exists ($(lab_namespaces | paste -sd' ' -)):" \
	    "$PROG -p $PFX down first"
	# Check every spec before building anything.
	i=0 names=" "
	for spec in "$@"; do
		i=$((i + 1))
		name=${spec%%:*}
		rest=${spec#*:}
		[ "$rest" != "$spec" ] || die "bad spec '$spec' (NAME:KIND)"
		kind=${rest%%/*}
		opt=${rest#"$kind"}
		valid_word "$name" || die "bad node name '$name'"
		case $name in
		inet|edge) die "node name '$name' is reserved" ;;
		esac
		case $names in
		*" $name "*) die "node '$name' given twice" ;;
		esac
		names="$names$name "
		case $kind in
		public|cone|symmetric|cgnat|blocked) ;;
		*) die "bad kind '$kind' in '$spec'" ;;
		esac
		case $opt in
		'') ;;
		/mtu=*)
			m=${opt#/mtu=}
			case $m in ''|*[!0-9]*) die "bad mtu in '$spec'" ;; esac
			if [ "$m" -lt 576 ] || [ "$m" -gt 1500 ]; then
				die "mtu in '$spec' not in 576..1500"
			fi
			;;
		*) die "bad option '$opt' in '$spec' (only /mtu=N)" ;;
		esac
	done
	[ $i -le 240 ] || die "at most 240 nodes"

	trap 'echo "$PROG: up failed, removing lab $PFX" >&2; cmd_down' EXIT

	mkns "$INET"
	ip -n "$INET" link add br0 type bridge
	ip -n "$INET" link set br0 up
	ip -n "$INET" addr add "$GW/24" dev br0
	mkns "$PFX-edge"
	inet_port "$PFX-edge" eth0 edge "$EDGE" 1500

	i=0
	mtuhosts=
	for spec in "$@"; do
		i=$((i + 1))
		name=${spec%%:*}
		rest=${spec#*:}
		kind=${rest%%/*}
		mtu=1500
		case $rest in */mtu=*) mtu=${rest#*/mtu=} ;; esac
		pub=$NET.$((10 + i))
		node=$PFX-$name
		mkns "$node"
		case $kind in
		public)
			inet_port "$node" eth0 "n$i" "$pub" "$mtu"
			out=$node outdev=eth0
			;;
		cone|symmetric|blocked|cgnat)
			r=$PFX-$name-r
			mkns "$r"
			veth "$r" lan "$node" eth0 1500
			ip -n "$r" addr add "192.168.$i.1/24" dev lan
			ip -n "$node" addr add "192.168.$i.2/24" dev eth0
			ip -n "$node" route add default via "192.168.$i.1"
			if [ "$kind" = cgnat ]; then
				c=$PFX-$name-c
				mkns "$c"
				veth "$c" lan "$r" wan 1500
				ip -n "$c" addr add "100.64.$i.1/24" dev lan
				ip -n "$r" addr add "100.64.$i.2/24" dev wan
				ip -n "$r" route add default via "100.64.$i.1"
				router "$r" cone "192.168.$i.0/24"
				inet_port "$c" wan "n$i" "$pub" "$mtu"
				router "$c" cone "100.64.$i.0/24"
				out=$c outdev=wan
			else
				inet_port "$r" wan "n$i" "$pub" "$mtu"
				router "$r" "$kind" "192.168.$i.0/24"
				out=$r outdev=wan
			fi
			;;
		esac
		ip -n "$INET" link set "n$i" alias "natlab $name $kind $i $mtu"
		[ "$mtu" = 1500 ] || mtuhosts="$mtuhosts $pub/$mtu"
		eval "OUT_$i=\$out OUTDEV_$i=\$outdev"
	done

	# Host routes with the lowered MTU on every other internet host.
	for hm in $mtuhosts; do
		h=${hm%/*} m=${hm#*/}
		ip -n "$INET" route add "$h/32" dev br0 mtu "$m"
		ip -n "$PFX-edge" route add "$h/32" dev eth0 mtu "$m"
		j=0
		while [ $j -lt $i ]; do
			j=$((j + 1))
			[ "$NET.$((10 + j))" = "$h" ] && continue
			eval "o=\$OUT_$j dev=\$OUTDEV_$j"
			ip -n "$o" route add "$h/32" dev "$dev" mtu "$m"
		done
	done
	trap - EXIT
}

cmd_show()
{
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$INET" ||
	    die "no lab '$PFX'"
	printf '%-10s %-9s %-18s %-13s %-14s %-5s %s\n' \
	    NAME KIND NAMESPACE ADDRESS PUBLIC MTU ROUTERS
	printf '%-10s %-9s %-18s %-13s %-14s %-5s %s\n' \
	    edge server "$PFX-edge" "$EDGE" "$EDGE" 1500 -
	all_nodes | while read -r name KIND IDX MTU; do
		case $KIND in
		public) via=- ;;
		cgnat) via="$PFX-$name-r(192.168.$IDX.1,100.64.$IDX.2)"
		    via="$via $PFX-$name-c(100.64.$IDX.1)" ;;
		*) via="$PFX-$name-r(192.168.$IDX.1)" ;;
		esac
		printf '%-10s %-9s %-18s %-13s %-14s %-5s %s\n' "$name" \
		    "$KIND" "$PFX-$name" "$(own_addr)" "$(pub_addr)" "$MTU" \
		    "$via"
	done
	printf '%-10s %-9s %-18s %-13s %-14s %-5s %s\n' \
	    "(internet)" bridge "$INET" "$GW" - - -
}

# ns_of X: the namespace of a node, router, edge or inet; must exist.
ns_of()
{
	valid_word "${1%-[rc]}" || die "bad name '$1'"
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$PFX-$1" ||
	    die "no namespace for '$1' in lab '$PFX'"
	echo "$PFX-$1"
}

cmd=$1
shift
case $cmd in
up)	cmd_up "$@" ;;
down)	[ $# -eq 0 ] || usage; cmd_down ;;
show)	[ $# -eq 0 ] || usage; cmd_show ;;
ns)	[ $# -eq 1 ] || usage; ns_of "$1" ;;
addr|pub)
	[ $# -eq 1 ] || usage
	if [ "$1" = edge ]; then
		echo "$EDGE"
	else
		node_info "$1" || die "no node '$1' in lab '$PFX'"
		if [ "$cmd" = addr ]; then own_addr; else pub_addr; fi
	fi
	;;
exec)	[ $# -ge 2 ] || usage
	ns=$(ns_of "$1")
	shift
	exec ip netns exec "$ns" "$@"
	;;
*)	usage ;;
esac
