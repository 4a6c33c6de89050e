#! /usr/bin/atf-sh
# scripts/natlab.sh builds the NAT kinds it promises: seen from a UDP
# reflector (scripts/natprobe.py) on the edge, each node shows the
# mapping and filtering of its kind, a lowered MTU is a real path MTU,
# and hole punching works between cone NATs but not symmetric ones.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	NATLAB=$TOP/scripts/natlab.sh
	PROBE="python3 $TOP/scripts/natprobe.py"
}

# nl_up SPEC...: a lab with a prefix of this test, kept for cleanup.
nl_up()
{
	echo "nl$$" > lab.prefix
	NL="$NATLAB -p nl$$"
	$NL up "$@" || atf_fail "natlab up $*"
}

nl()
{
	"$NATLAB" -p "$(cat lab.prefix)" "$@"
}

nl_cleanup()
{
	common
	[ -f lab.prefix ] || return 0
	"$NATLAB" -p "$(cat lab.prefix)" down
}

# nl_serve NODE OUT natprobe-ARGS...: a reflector in NODE's namespace,
# in the background, output in OUT; returns once it is bound.
nl_serve()
{
	node=$1 o=$2
	shift 2
	nl exec "$node" $PROBE "$@" > "$o" 2>&1 &
	cb_until 5 grep -qx ready "$o" || {
		cat "$o"
		atf_fail "reflector $* in $node did not start"
	}
}

# counter NS CHAIN: packets counted by the first counter of CHAIN of
# table ip natlab in namespace NS.
counter()
{
	nl exec "$1" nft list chain ip natlab "$2" |
	    sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -1
}

has_pids()
{
	[ -n "$(ip netns pids "$1")" ]
}

atf_test_case cli cleanup
cli_head()
{
	atf_set descr "up checks specs and refuses an existing lab; show," \
	    "ns, addr, pub, exec; down removes every namespace, twice"
	atf_set require.user root
	atf_set timeout 60
}
cli_body()
{
	common
	echo "nl$$" > lab.prefix
	p=nl$$
	for bad in "x:nat" "x" "a-b:cone" "edge:public" "x:cone/mtu=9" \
	    "x:cone/mtu=1280/y" "x:cone x:public"; do
		# shellcheck disable=SC2086
		atf_check -s exit:1 -o empty -e match:"natlab.sh: " \
		    "$NATLAB" -p "$p" up $bad
		! ip netns list | grep -q "^$p-" ||
		    atf_fail "'$bad' left namespaces behind"
	done
	atf_check -s exit:2 -e match:usage "$NATLAB" up a:public
	atf_check -s exit:1 -e match:"bad prefix" "$NATLAB" -p a-b down
	nl_up a:public b:cone c:cgnat d:symmetric/mtu=1400
	atf_check -s exit:1 -e match:"lab '$p' exists" \
	    "$NATLAB" -p "$p" up z:public
	[ "$(ip netns list | grep -c "^$p-")" = 10 ] ||
	    atf_fail "expected 10 namespaces: $(ip netns list | grep "^$p-" |
	    paste -sd' ' -)"
	atf_check -o inline:"203.0.113.11\n" $NL addr a
	atf_check -o inline:"192.168.2.2\n" $NL addr b
	atf_check -o inline:"203.0.113.12\n" $NL pub b
	atf_check -o inline:"192.168.3.2\n" $NL addr c
	atf_check -o inline:"203.0.113.13\n" $NL pub c
	atf_check -o inline:"203.0.113.1\n" $NL addr edge
	atf_check -o inline:"$p-c-c\n" $NL ns c-c
	atf_check -s exit:1 -e match:"no node" $NL addr zz
	atf_check -s exit:1 -e match:"no namespace" $NL exec zz true
	atf_check -o match:"inet 100.64.3.2/24" $NL exec c-r ip addr show wan
	atf_check -o match:"mtu 1400" $NL exec d-r ip link show wan
	atf_check -o match:"^d +symmetric +$p-d +192.168.4.2 +203.0.113.14 +1400" \
	    -o match:"^c +cgnat " -o match:"^edge +server" $NL show
	# The lab stays inside: no address of it in the machine's namespace.
	ip -4 addr | grep -q "203\.0\.113\." &&
	    atf_fail "lab address in the machine's own namespace"
	# down kills what runs inside, removes everything, and again is fine.
	nl exec a sleep 30 &
	cb_until 5 has_pids "$p-a" ||
	    atf_fail "sleep did not start in $p-a"
	atf_check $NL down
	! ip netns list | grep -q "^$p-" || atf_fail "down left some"
	atf_check $NL down
}
cli_cleanup()
{
	nl_cleanup
}

atf_test_case public_cone cleanup
public_cone_head()
{
	atf_set descr "a public node is seen at its own address; a cone node" \
	    "at its router's, with the same port towards two destinations," \
	    "and nothing reaches it unasked"
	atf_set require.user root
	atf_set timeout 60
}
public_cone_body()
{
	common
	nl_up p:public c:cone
	nl_serve edge r1 udp-reflect -L 50 3478
	nl_serve p r2 udp-reflect -L 50 3479
	atf_check -o inline:"203.0.113.11:40000\n" \
	    $NL exec p $PROBE udp-probe -l 40000 203.0.113.1:3478
	# Same local port, two destinations (other address, other port):
	# one mapping, and Linux masquerade kept the port.
	atf_check -o inline:"203.0.113.12:40000\n203.0.113.12:40000\n" \
	    $NL exec c $PROBE udp-probe -l 40000 203.0.113.1:3478 203.0.113.11:3479
	# Filtering is per connection: with a mapping 203.0.113.12:40003
	# made towards the edge's port 3478, the edge's port 3479 cannot
	# use it.
	$NL exec c $PROBE udp-probe -l 40003 -w 2 203.0.113.1:3478 \
	    > listen.out 2>&1 &
	lp=$!
	cb_until 5 grep -qx "203.0.113.12:40003" listen.out ||
	    atf_fail "no mapping: $(paste -sd' ' listen.out)"
	atf_check -s exit:1 -o inline:"timeout\n" \
	    $NL exec edge $PROBE udp-probe -t 1 -l 3479 203.0.113.12:40003
	wait $lp
	cat listen.out
	grep -q "^from" listen.out && atf_fail "unsolicited datagram came in"
	# A listener behind the NAT cannot be reached from outside, though
	# it answers from inside.
	nl_serve c r3 udp-reflect -L 50 40001
	atf_check -s exit:1 -o inline:"timeout\n" \
	    $NL exec edge $PROBE udp-probe -t 1 203.0.113.12:40001
	atf_check -o inline:"192.168.2.1:40002\n" \
	    $NL exec c-r $PROBE udp-probe -t 1 -l 40002 192.168.2.2:40001
}
public_cone_cleanup()
{
	nl_cleanup
}

atf_test_case symmetric cleanup
symmetric_head()
{
	atf_set descr "a symmetric node gets a different external port for" \
	    "each destination from the same local port"
	atf_set require.user root
	atf_set timeout 60
}
symmetric_body()
{
	common
	nl_up s:symmetric p:public
	nl_serve edge r1 udp-reflect -L 50 3478
	nl_serve p r2 udp-reflect -L 50 3478	# p is 203.0.113.12
	# fully-random may, rarely, draw the same port twice: three tries.
	try=0 differ=
	while [ $try -lt 3 ]; do
		$NL exec s $PROBE udp-probe -l $((40000 + try)) 203.0.113.1:3478 \
		    203.0.113.12:3478 > seen || atf_fail "probe: $(paste -sd' ' seen)"
		cat seen
		a=$(sed -n 1p seen) b=$(sed -n 2p seen)
		[ "${a%:*}" = 203.0.113.11 ] && [ "${b%:*}" = 203.0.113.11 ] ||
		    atf_fail "symmetric node not seen at its router: $a $b"
		[ "${a#*:}" != "${b#*:}" ] && { differ=yes; break; }
		try=$((try + 1))
	done
	[ -n "$differ" ] || atf_fail "the same external port for two destinations"
}
symmetric_cleanup()
{
	nl_cleanup
}

atf_test_case cgnat cleanup
cgnat_head()
{
	atf_set descr "a cgnat node crosses two NATs: the carrier sees the" \
	    "home router's 100.64 address, the internet the carrier's"
	atf_set require.user root
	atf_set timeout 60
}
cgnat_body()
{
	common
	nl_up g:cgnat
	nl_serve edge r1 udp-reflect -L 50 3478
	nl_serve g-c r2 udp-reflect -b 100.64.1.1 -L 50 3478
	[ "$(counter g-r postrouting)" = 0 ] || atf_fail "home counter not 0"
	[ "$(counter g-c postrouting)" = 0 ] || atf_fail "carrier counter not 0"
	atf_check -o inline:"203.0.113.11:40000\n" \
	    $NL exec g $PROBE udp-probe -l 40000 203.0.113.1:3478
	# Both masquerades took the flow: from 192.168.1.0/24 on the home
	# router, from 100.64.1.0/24 on the carrier.
	[ "$(counter g-r postrouting)" -ge 1 ] || atf_fail "home NAT unused"
	[ "$(counter g-c postrouting)" -ge 1 ] || atf_fail "carrier NAT unused"
	# Between the two NATs the node is the home router's 100.64 address.
	atf_check -o inline:"100.64.1.2:40001\n" \
	    $NL exec g $PROBE udp-probe -l 40001 100.64.1.1:3478
}
cgnat_cleanup()
{
	nl_cleanup
}

atf_test_case blocked cleanup
blocked_head()
{
	atf_set descr "a blocked node gets no UDP answer but reaches the" \
	    "edge over TCP"
	atf_set require.user root
	atf_set timeout 60
}
blocked_body()
{
	common
	nl_up b:blocked
	nl_serve edge r1 udp-reflect -L 50 3478
	nl_serve edge r2 tcp-reflect -L 50 3478
	atf_check -s exit:1 -o inline:"timeout\n" \
	    $NL exec b $PROBE udp-probe -t 1 203.0.113.1:3478
	[ "$(counter b-r forward)" -ge 1 ] ||
	    atf_fail "the router's UDP drop counted nothing"
	atf_check -o match:"^203\.0\.113\.11:[0-9]+$" \
	    $NL exec b $PROBE tcp-probe 203.0.113.1:3478
}
blocked_cleanup()
{
	nl_cleanup
}

atf_test_case mtu cleanup
mtu_head()
{
	atf_set descr "/mtu=1280 is a path MTU: DF pings of 1300 bytes fail" \
	    "with 'frag needed' from the router, of 1200 pass, both ways"
	atf_set require.user root
	atf_set timeout 60
}
mtu_body()
{
	common
	nl_up m:cone/mtu=1280 o:cone
	# The node's own link is 1500: only the router can tell it.
	atf_check -o match:"mtu 1500" $NL exec m ip link show eth0
	atf_check -s exit:1 -o match:"mtu ?= ?1280" -e ignore \
	    $NL exec m ping -M "do" -c 2 -i 0.2 -W 1 -s 1300 203.0.113.1
	atf_check -o ignore $NL exec m ping -M "do" -c 1 -W 2 -s 1200 203.0.113.1
	atf_check -s exit:1 -o ignore -e match:"mtu=1280" \
	    $NL exec edge ping -M "do" -c 1 -W 1 -s 1300 203.0.113.11
	atf_check -o ignore $NL exec edge ping -M "do" -c 1 -W 2 -s 1200 \
	    203.0.113.11
	# The other node keeps a 1500 path.
	atf_check -o ignore $NL exec o ping -M "do" -c 1 -W 2 -s 1400 203.0.113.1
}
mtu_cleanup()
{
	nl_cleanup
}

# punch A B SECONDS: both nodes learn their public endpoint from the
# edge's reflector, then send to each other at once from the same port.
# Leaves each one's exit status in a.rc and b.rc, output in a.out, b.out.
punch()
{
	nl_serve edge r1 udp-reflect -L 50 3478
	rm -f a.ep b.ep
	( nl exec "$1" $PROBE punch -l 41000 -r 203.0.113.1:3478 \
	    -o a.ep -i b.ep -t "$3" > a.out 2>&1; echo $? > a.rc ) &
	pa=$!
	( nl exec "$2" $PROBE punch -l 41000 -r 203.0.113.1:3478 \
	    -o b.ep -i a.ep -t "$3" > b.out 2>&1; echo $? > b.rc ) &
	pb=$!
	wait $pa $pb
	echo "== $1"; cat a.out
	echo "== $2"; cat b.out
}

atf_test_case punch_cone cleanup
punch_cone_head()
{
	atf_set descr "two cone nodes punch a UDP hole to each other"
	atf_set require.user root
	atf_set timeout 60
}
punch_cone_body()
{
	common
	nl_up a:cone b:cone
	punch a b 5
	[ "$(cat a.rc)" = 0 ] && [ "$(cat b.rc)" = 0 ] ||
	    atf_fail "hole punching between cone NATs failed"
	grep -qx "punched 203.0.113.12:41000" a.out &&
	    grep -qx "punched 203.0.113.11:41000" b.out ||
	    atf_fail "heard from an unexpected endpoint"
}
punch_cone_cleanup()
{
	nl_cleanup
}

atf_test_case punch_symmetric cleanup
punch_symmetric_head()
{
	atf_set descr "two symmetric nodes cannot punch a hole to each other"
	atf_set require.user root
	atf_set timeout 60
}
punch_symmetric_body()
{
	common
	nl_up a:symmetric b:symmetric
	punch a b 3
	# Each learnt its endpoint, so the failure is the NATs'.
	grep -q "^peer 203.0.113.12:" a.out && grep -q "^peer 203.0.113.11:" \
	    b.out || atf_fail "the punchers did not get as far as punching"
	[ "$(cat a.rc)" = 1 ] && [ "$(cat b.rc)" = 1 ] ||
	    atf_fail "a hole was punched through symmetric NATs"
	grep -q "^no contact (heard=False)" a.out &&
	    grep -q "^no contact (heard=False)" b.out ||
	    atf_fail "a packet got through"
}
punch_symmetric_cleanup()
{
	nl_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case cli
	atf_add_test_case public_cone
	atf_add_test_case symmetric
	atf_add_test_case cgnat
	atf_add_test_case blocked
	atf_add_test_case mtu
	atf_add_test_case punch_cone
	atf_add_test_case punch_symmetric
}
