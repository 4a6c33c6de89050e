#! /usr/bin/atf-sh
# The token's DNS on the host (cbp2pd(8), DNS).  `ip netns exec NS`
# binds /etc/netns/NS/resolv.conf over /etc/resolv.conf when that file
# exists, so a daemon started that way edits only its namespace's copy:
# the machine's own resolv.conf must not change at all.  On a machine
# without systemd-resolved and resolvconf, `dns: on` takes the file;
# otherwise the test asks for the file by name.  resolvconf(8) and
# systemd-resolved are tested with Debian's own packages, installed in a
# mount namespace of the test (below).

common()
{
	. "$(atf_get_srcdir)/common.sh"
	DNSANSWER=$(atf_get_srcdir)/dnsanswer.py
}

ORIG='# the namespace own resolv.conf
nameserver 192.0.2.1
search host.example
options timeout:1 attempts:1'

# token [DNS-JSON-MEMBERS]: n1's client-server token, signed.
token()
{
	cb_claims n1 client-server 10.99.0.3/24
	if [ -n "${1:-}" ]; then
		jq ".network_config += {$1}" n1.claims > n1.claims.new ||
		    atf_fail "claims"
		mv n1.claims.new n1.claims
	fi
	cb_token n1 RS256 keys
}

# setup MODE: the namespace with its own resolv.conf, n1's keys and
# configuration with dns: MODE ("auto": on, or file when resolvectl or
# resolvconf is installed).
setup()
{
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	NS=$(cb_ns n1)
	echo "$NS" > n1.ns
	mkdir -p "/etc/netns/$NS"
	printf '%s\n' "$ORIG" > "/etc/netns/$NS/resolv.conf"
	cp "/etc/netns/$NS/resolv.conf" orig.conf
	RC=/etc/netns/$NS/resolv.conf
	mode=$1
	if [ "$mode" = auto ]; then
		mode=on
		if command -v resolvectl > /dev/null ||
		    command -v resolvconf > /dev/null; then
			mode=file
		fi
	fi
	cb_config n1 RS256 keys "dns: $mode"
	# The machine's own, which nothing here may touch.
	sha256sum /etc/resolv.conf > host.sum 2>/dev/null || : > host.sum
}

host_unchanged()
{
	if [ -s host.sum ]; then
		sha256sum -c --quiet host.sum ||
		    atf_fail "the machine's /etc/resolv.conf changed"
	fi
}

same_as_orig()
{
	cmp -s "$RC" orig.conf || { diff orig.conf "$RC";
	    atf_fail "$1: resolv.conf is not as it was"; }
}

reload_ok()
{
	out=$(cb_ctl n1 reload) || { cat n1.log; atf_fail "reload: $out"; }
}

dns_way()
{
	cb_ctl n1 -j status | jq -r .dns
}

atf_test_case file_block cleanup
file_block_head()
{
	atf_set descr "the token's servers and search domain go into a marked block of the namespace's resolv.conf, are used, and go away on reload and exit"
	atf_set require.user root
	atf_set require.progs jq python3 getent
	atf_set timeout 90
}
file_block_body()
{
	common
	setup auto
	token '"dns": ["10.99.0.53", "fd00::53"], "dns_search": ["mesh.example"]'
	cb_start n1
	cat "$RC"
	[ "$(dns_way)" = file ] || atf_fail "status says dns $(dns_way)"
	grep -q "^# cbp2pd cb$$n1 begin" "$RC" || atf_fail "no block"
	# The mesh's servers first, the namespace's own lines kept.
	[ "$(grep '^nameserver' "$RC" | head -2 | tr '\n' ' ')" = \
	    "nameserver 10.99.0.53 nameserver fd00::53 " ] ||
	    atf_fail "servers not first"
	grep -q '^nameserver 192.0.2.1$' "$RC" || atf_fail "own server lost"
	# The last search line wins: the mesh's domain, then the host's.
	[ "$(grep '^search' "$RC" | tail -1)" = \
	    "search mesh.example host.example" ] || atf_fail "search line"
	host_unchanged

	# The resolver in the namespace asks the mesh's server, with its
	# search domain: a name of one label resolves through it.
	ip -n "$NS" addr add 10.99.0.53/32 dev lo
	ip netns exec "$NS" python3 "$DNSANSWER" 10.99.0.53 \
	    db.mesh.example 10.99.0.77 > dns.log 2>&1 &
	echo $! > dnsanswer.pid
	cb_until 10 sh -c "ip netns exec $NS getent ahostsv4 db | grep -q 10.99.0.77" ||
	    { cat dns.log; atf_fail "db did not resolve through the mesh's server"; }

	# A reload whose token has no dns takes the block out.
	token
	reload_ok
	same_as_orig "after a reload without dns"
	[ "$(dns_way)" = off ] || atf_fail "status says dns $(dns_way)"

	# And one with other servers puts one block back, not two.
	token '"dns": ["10.99.0.54"]'
	reload_ok
	[ "$(grep -c '^# cbp2pd .* begin' "$RC")" = 1 ] ||
	    { cat "$RC"; atf_fail "not one block"; }
	grep -q '^nameserver 10.99.0.54$' "$RC" || atf_fail "new server"
	grep -q '10.99.0.53' "$RC" && atf_fail "old server stayed"

	kill -TERM "$(cat n1.pid)"
	cb_wait_exit "$(cat n1.pid)" || atf_fail "cbp2pd did not exit"
	same_as_orig "after SIGTERM"
	grep -q "mesh DNS taken back" n1.log || atf_fail "not logged"
	host_unchanged
}
file_block_cleanup()
{
	common
	[ -f dnsanswer.pid ] && kill "$(cat dnsanswer.pid)" 2>/dev/null
	cb_kill n1
	[ -f n1.ns ] && rm -rf "/etc/netns/$(cat n1.ns)"
	rmdir /etc/netns 2>/dev/null
	return 0
}

atf_test_case off_and_leftover cleanup
off_and_leftover_head()
{
	atf_set descr "dns: off leaves resolv.conf alone; a block left by a killed daemon is replaced at start, not doubled"
	atf_set require.user root
	atf_set require.progs jq
	atf_set timeout 90
}
off_and_leftover_body()
{
	common
	setup off
	token '"dns": ["10.99.0.53"]'
	cb_start n1
	[ "$(dns_way)" = off ] || atf_fail "status says dns $(dns_way)"
	same_as_orig "with dns: off"

	# dns turned on by a reload.
	sed -i 's/^dns: off$/dns: file/' n1.yaml
	reload_ok
	grep -q '^nameserver 10.99.0.53$' "$RC" || atf_fail "not applied"
	# SIGKILL: nothing runs at exit, the block stays ...  The parent
	# first: one that outlives a child restores DNS as it shuts down.
	kids=$(cb_children n1)
	kill -9 "$(cat n1.pid)"
	for c in $kids; do kill -9 "$c"; done
	cb_wait_exit "$(cat n1.pid)" || atf_fail "still running"
	grep -q '^nameserver 10.99.0.53$' "$RC" || atf_fail "block gone"
	# ... and the next start replaces it.
	ip netns exec "$NS" ip link del "cb$$n1" 2>/dev/null
	rm -f n1.sock "/var/run/wireguard/cb$$n1.sock"
	cb_start n1
	[ "$(grep -c '^nameserver 10.99.0.53$' "$RC")" = 1 ] ||
	    { cat "$RC"; atf_fail "block doubled"; }
	kill -TERM "$(cat n1.pid)"
	cb_wait_exit "$(cat n1.pid)" || atf_fail "cbp2pd did not exit"
	same_as_orig "after SIGTERM"
	host_unchanged
}
off_and_leftover_cleanup()
{
	common
	cb_kill n1
	[ -f n1.ns ] && rm -rf "/etc/netns/$(cat n1.ns)"
	rmdir /etc/netns 2>/dev/null
	return 0
}

# ---- resolvconf(8) and systemd-resolved, installed for real ---------
#
# Installed on the machine, either would make /etc/resolv.conf a link
# into /run, and CI machines need theirs to reach Debian's archive.
# debns.sh installs the package make testdebs fetched in overlays of
# /etc, /usr and /var with a /run of its own, in a mount namespace that
# it holds open; cbp2pd, the daemons the package needs and every look
# at their state enter it with nsenter(1).  The machine's resolv.conf,
# dpkg database and /run are checked unchanged from outside.

DEBNS_HOLD=120		# seconds debns.sh keeps its namespace at most

# debns_up PACKAGE: the namespace with PACKAGE installed.
debns_up()
{
	debs=$(ls "$TOP/obj/testdebs/$1/"*.deb 2>/dev/null)
	[ -n "$debs" ] ||
	    atf_fail "no $1 package in obj/testdebs: run make testdebs"
	# shellcheck disable=SC2086
	unshare -m --propagation private sh "$(atf_get_srcdir)/debns.sh" \
	    "$PWD" "$DEBNS_HOLD" $debs > debns.log 2>&1 &
	echo $! > debns.pid
	cb_until 60 test -e debns.ready ||
	    { cat debns.log; atf_fail "$1 not installed in 60 s"; }
	kill -0 "$(cat debns.pid)" 2>/dev/null ||
	    { cat debns.log; atf_fail "debns.sh exited"; }
}

# inmnt: in the namespace with the package; innet: also in the test's
# network namespace, named by its file (which the private /run hides
# from inside).  Both exec their command, so a daemon started with
# "innet_bg NAME command" has its own pid in NAME.pid (a shell function
# run with & would put a subshell between them).
inmnt()
{
	nsenter -t "$(cat debns.pid)" -m "$@"
}

innet()
{
	nsenter -t "$(cat debns.pid)" -m --net="/run/netns/$NS" "$@"
}

innet_bg()
{
	_ib_name=$1
	shift
	nsenter -t "$(cat debns.pid)" -m --net="/run/netns/$NS" "$@" \
	    < /dev/null > "$_ib_name.log" 2>&1 &
	echo $! > "$_ib_name.pid"
}

debns_start()
{
	innet_bg n1 "$CBP2PD" -d -x "$OBJ" -f "$PWD/n1.yaml"
	cb_wait_ready n1
}

# debns_setup PACKAGE DNS-MODE: n1's keys and configuration, the
# machine's state to compare with at the end, PACKAGE installed.
debns_setup()
{
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	NS=$(cb_ns n1)
	echo "$NS" > n1.ns
	cb_config n1 RS256 keys "dns: $2"
	sha256sum /etc/resolv.conf /var/lib/dpkg/status > host.sum
	dpkg -s "$1" > /dev/null 2>&1 && had_pkg=1 || had_pkg=
	ls -A /run > run.ls
	debns_up "$1"
}

# debns_host_same PACKAGE: nothing of it outside.
debns_host_same()
{
	sha256sum -c --quiet host.sum ||
	    atf_fail "the machine's resolv.conf or dpkg database changed"
	[ -z "$had_pkg" ] && dpkg -s "$1" > /dev/null 2>&1 &&
	    atf_fail "$1 installed on the machine"
	# What other tests make in /run meanwhile (netns, wireguard) aside.
	ls -A /run | grep -Fvx -f run.ls | grep -E 'resolv|dbus|systemd' &&
	    atf_fail "the machine's /run changed"
	return 0
}

# SIGTERM to n1; what it logged from then on in exit.log.
sigterm_n1()
{
	_st_lines=$(wc -l < n1.log)
	kill -TERM "$(cat n1.pid)"
	cb_wait_exit "$(cat n1.pid)" || atf_fail "cbp2pd did not exit"
	tail -n "+$((_st_lines + 1))" n1.log > exit.log
	grep -q "failed" exit.log && { cat exit.log; atf_fail "failed on exit"; }
	return 0
}

debns_cleanup()
{
	for d in dnsanswer resolved dbus; do
		[ -f $d.pid ] && kill "$(cat $d.pid)" 2>/dev/null
	done
	cb_kill n1
	[ -f debns.pid ] && kill "$(cat debns.pid)" 2>/dev/null
	return 0
}

# The mesh's server, listening before the first question: resolved
# would wait out its retransmission timer for a question lost before.
dnsanswer_up()
{
	innet_bg dnsanswer python3 "$DNSANSWER" 10.99.0.53 db.mesh.example \
	    10.99.0.77
	cb_until 10 sh -c "ip netns exec $NS ss -Hlun | grep -q 10.99.0.53:53" ||
	    { cat dnsanswer.log; atf_fail "dnsanswer.py did not start"; }
}

# resolves NAME ADDR: NAME resolves to ADDR in the test's namespaces.
resolves()
{
	innet getent ahostsv4 "$1" | grep -q "^$2 "
}

# A DHCP client's record, as on a machine that got three servers from
# its network: the mesh's servers must still come first.
DHCP_REC=eth0.dhclient
DHCP_TEXT='nameserver 192.0.2.1
nameserver 192.0.2.2
nameserver 192.0.2.3
search lan.example'

# What resolvconf generated, as the namespace's resolver reads it.
rc_conf()
{
	inmnt cat /etc/resolv.conf
}

rc_record()
{
	inmnt cat "/run/resolvconf/interface/$REC"
}

atf_test_case resolvconf cleanup
resolvconf_head()
{
	atf_set descr "with Debian's resolvconf installed in a private mount namespace, dns: resolvconf and dns: on give it a record of the mesh's servers and search domains, first in the resolv.conf it makes, used, and deleted on reload and exit"
	atf_set require.user root
	atf_set require.progs jq python3 getent ss unshare nsenter dpkg sha256sum
	atf_set timeout 90
}
resolvconf_body()
{
	common
	# Named after interface-order's "tun*", as wg-quick names its own.
	REC=tun.cb$$n1.cbp2p
	debns_setup resolvconf resolvconf
	inmnt readlink /etc/resolv.conf | grep -q 'run/resolvconf/resolv.conf$' ||
	    { cat debns.log; atf_fail "resolvconf did not link /etc/resolv.conf"; }
	printf '%s\n' "$DHCP_TEXT" | inmnt resolvconf -a "$DHCP_REC" ||
	    atf_fail "resolvconf -a $DHCP_REC"
	rc_conf > base.conf
	grep -q '^nameserver 192.0.2.1$' base.conf ||
	    { cat base.conf; atf_fail "resolvconf made no resolv.conf"; }

	token '"dns": ["10.99.0.53", "fd00::53"], "dns_search": ["mesh.example"]'
	debns_start
	[ "$(dns_way)" = resolvconf ] || atf_fail "status says dns $(dns_way)"
	rc_record > rec.txt || { inmnt ls /run/resolvconf/interface;
	    cat n1.log; atf_fail "no record $REC"; }
	printf 'nameserver 10.99.0.53\nnameserver fd00::53\nsearch mesh.example\n' |
	    cmp -s - rec.txt || { cat rec.txt; atf_fail "record $REC"; }
	rc_conf > on.conf
	cat on.conf
	# The resolver takes three servers: the mesh's two, then the
	# network's first; the mesh's domain searched first.
	[ "$(grep '^nameserver' on.conf | tr '\n' ' ')" = \
	    "nameserver 10.99.0.53 nameserver fd00::53 nameserver 192.0.2.1 " ] ||
	    atf_fail "the mesh's servers are not first"
	[ "$(grep '^search' on.conf)" = "search mesh.example lan.example" ] ||
	    atf_fail "search line"
	host_unchanged

	# A name of one label resolves through the mesh's server.
	ip -n "$NS" addr add 10.99.0.53/32 dev lo
	dnsanswer_up
	cb_until 10 resolves db 10.99.0.77 ||
	    { cat dnsanswer.log; atf_fail "db did not resolve through the mesh's server"; }

	# A reload whose token has no dns deletes the record.
	token
	reload_ok
	[ "$(dns_way)" = off ] || atf_fail "status says dns $(dns_way)"
	inmnt test -e "/run/resolvconf/interface/$REC" &&
	    atf_fail "record left after a reload without dns"
	rc_conf | cmp -s - base.conf ||
	    { rc_conf | diff base.conf -; atf_fail "resolv.conf not as it was"; }

	# dns: on finds resolvconf installed and no systemd-resolved.
	sed -i 's/^dns: resolvconf$/dns: on/' n1.yaml
	token '"dns": ["10.99.0.54"]'
	reload_ok
	[ "$(dns_way)" = resolvconf ] ||
	    atf_fail "dns: on took $(dns_way), not resolvconf"
	[ "$(rc_record)" = "nameserver 10.99.0.54" ] ||
	    { rc_record; atf_fail "record after dns: on"; }
	rc_conf | grep -q '^nameserver 10.99.0.54$' || atf_fail "not applied"
	rc_conf | grep -q '10.99.0.53' && atf_fail "old server stayed"

	# SIGTERM deletes it.
	sigterm_n1
	inmnt test -e "/run/resolvconf/interface/$REC" &&
	    { cat exit.log; atf_fail "record left after SIGTERM"; }
	rc_conf | cmp -s - base.conf ||
	    { rc_conf | diff base.conf -; atf_fail "resolv.conf not as it was"; }
	grep -q "mesh DNS taken back (resolvconf)" exit.log ||
	    { cat exit.log; atf_fail "not logged"; }

	debns_host_same resolvconf
}
resolvconf_cleanup()
{
	common
	debns_cleanup
}

# The servers and domains systemd-resolved has for the tunnel's link, as
# it answers resolvectl over D-Bus: "10.99.0.53 fd00::53", or empty.
link_dns()
{
	innet resolvectl dns "cb$$n1" | sed 's/^[^:]*: *//'
}

link_domain()
{
	innet resolvectl domain "cb$$n1" | sed 's/^[^:]*: *//'
}

atf_test_case resolved cleanup
resolved_head()
{
	atf_set descr "with Debian's systemd-resolved installed in a private mount namespace and run there on a D-Bus system bus of its own (no systemd as PID 1), dns: on picks it and resolvectl gives the tunnel's link the mesh's servers and domains, which resolved reports and serves, and reverts them on reload and exit"
	atf_set require.user root
	atf_set require.progs jq python3 getent ss unshare nsenter dpkg sha256sum \
	    dbus-daemon
	atf_set timeout 90
}
resolved_body()
{
	common
	debns_setup systemd-resolved on
	inmnt readlink /etc/resolv.conf | grep -q 'stub-resolv.conf$' ||
	    { cat debns.log; atf_fail "postinst did not link /etc/resolv.conf"; }
	# The system bus and resolved, as their units would start them; no
	# /run/systemd/resolve until resolved makes it.
	inmnt mkdir -p /run/dbus /run/systemd
	innet_bg dbus dbus-daemon --system --nofork --nopidfile
	cb_until 10 inmnt test -S /run/dbus/system_bus_socket ||
	    { cat dbus.log; atf_fail "no system bus"; }
	innet_bg resolved /lib/systemd/systemd-resolved
	cb_until 10 innet resolvectl status ||
	    { cat resolved.log; atf_fail "systemd-resolved does not answer"; }

	token '"dns": ["10.99.0.53", "fd00::53"], "dns_search": ["mesh.example"]'
	debns_start
	[ "$(dns_way)" = resolved ] ||
	    { cat n1.log; atf_fail "dns: on took $(dns_way), not resolved"; }
	[ "$(link_dns)" = "10.99.0.53 fd00::53" ] ||
	    { innet resolvectl status; atf_fail "link's servers: $(link_dns)"; }
	[ "$(link_domain)" = "mesh.example" ] ||
	    atf_fail "link's domains: $(link_domain)"
	inmnt grep -q '^nameserver 10.99.0.53$' /run/systemd/resolve/resolv.conf ||
	    atf_fail "not in resolved's resolv.conf"
	# The stub at 127.0.0.53 answers a mesh name: resolved asks the
	# link's server, which is on the tunnel's link itself here (no
	# peer behind it), with the mesh's domain.
	ip -n "$NS" addr add 10.99.0.53/32 dev "cb$$n1"
	dnsanswer_up
	cb_until 10 resolves db 10.99.0.77 ||
	    { cat dnsanswer.log resolved.log;
	    atf_fail "db did not resolve through resolved"; }
	host_unchanged

	# A reload whose token has no dns reverts the link.
	token
	reload_ok
	[ "$(dns_way)" = off ] || atf_fail "status says dns $(dns_way)"
	[ -z "$(link_dns)" ] || atf_fail "servers left: $(link_dns)"
	[ -z "$(link_domain)" ] || atf_fail "domains left: $(link_domain)"

	# dns: resolved by name, other servers.
	sed -i 's/^dns: on$/dns: resolved/' n1.yaml
	token '"dns": ["10.99.0.54"]'
	reload_ok
	[ "$(dns_way)" = resolved ] || atf_fail "status says dns $(dns_way)"
	[ "$(link_dns)" = "10.99.0.54" ] || atf_fail "servers: $(link_dns)"
	[ -z "$(link_domain)" ] || atf_fail "domains left: $(link_domain)"

	# SIGTERM reverts before the link goes with the engine.
	sigterm_n1
	grep -q "mesh DNS taken back (resolved)" exit.log ||
	    { cat exit.log; atf_fail "not reverted on exit"; }
	inmnt grep -q 10.99.0.54 /run/systemd/resolve/resolv.conf &&
	    atf_fail "server left in resolved's resolv.conf"
	debns_host_same systemd-resolved
}
resolved_cleanup()
{
	common
	debns_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case file_block
	atf_add_test_case off_and_leftover
	atf_add_test_case resolvconf
	atf_add_test_case resolved
}
