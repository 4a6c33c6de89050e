#! /usr/bin/atf-sh
# The token's DNS on the host (cbp2pd(8), DNS).  `ip netns exec NS`
# binds /etc/netns/NS/resolv.conf over /etc/resolv.conf when that file
# exists, so a daemon started that way edits only its namespace's copy:
# the machine's own resolv.conf must not change at all.  On a machine
# without systemd-resolved and resolvconf, `dns: on` takes the file;
# otherwise the test asks for the file by name.  resolvconf(8) is tested
# with Debian's own package, installed in a mount namespace of the test
# (below); resolvectl's commands are unit-tested (regress/lib/t_dns.c).

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
	# SIGKILL: nothing runs at exit, the block stays ...
	for c in $(cb_children n1); do kill -9 "$c"; done
	kill -9 "$(cat n1.pid)"
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

# ---- resolvconf(8) --------------------------------------------------
#
# Installed on the machine, resolvconf would make /etc/resolv.conf a link
# into /run/resolvconf, and CI machines need theirs to reach Debian's
# archive.  debns.sh installs the package make testdebs fetched in
# overlays of /etc, /usr and /var with a /run of its own, in a mount
# namespace that it holds open; cbp2pd and every look at resolvconf's
# files enter it with nsenter(1).  The machine's resolv.conf, dpkg
# database and /run are checked unchanged from outside.

# A DHCP client's record, as on a machine that got three servers from
# its network: the mesh's servers must still come first.
DHCP_REC=eth0.dhclient
DHCP_TEXT='nameserver 192.0.2.1
nameserver 192.0.2.2
nameserver 192.0.2.3
search lan.example'
DEBNS_HOLD=120		# seconds debns.sh keeps its namespace at most

debns_up()
{
	debs=$(ls "$TOP"/obj/testdebs/resolvconf_*.deb 2>/dev/null)
	[ -n "$debs" ] ||
	    atf_fail "no resolvconf package in obj/testdebs: run make testdebs"
	unshare -m --propagation private sh "$(atf_get_srcdir)/debns.sh" \
	    "$PWD" "$DEBNS_HOLD" "$TOP"/obj/testdebs/*.deb > debns.log 2>&1 &
	echo $! > debns.pid
	cb_until 60 test -e debns.ready ||
	    { cat debns.log; atf_fail "resolvconf not installed in 60 s"; }
	kill -0 "$(cat debns.pid)" 2>/dev/null ||
	    { cat debns.log; atf_fail "debns.sh exited"; }
}

# In the namespace with resolvconf.
inmnt()
{
	nsenter -t "$(cat debns.pid)" -m "$@"
}

# cbp2pd there and in the test's network namespace, named by its file
# (which the private /run hides from inside).  nsenter execs its
# command: $! is the daemon's pid (a shell function run with & would
# put a subshell between them).
rc_start()
{
	nsenter -t "$(cat debns.pid)" -m --net="/run/netns/$NS" \
	    "$CBP2PD" -d -x "$OBJ" -f "$PWD/n1.yaml" < /dev/null \
	    > n1.log 2>&1 &
	echo $! > n1.pid
	cb_wait_ready n1
}

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
	atf_set require.progs jq python3 getent unshare nsenter dpkg sha256sum
	atf_set timeout 90
}
resolvconf_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	NS=$(cb_ns n1)
	echo "$NS" > n1.ns
	# Named after interface-order's "tun*", as wg-quick names its own.
	REC=tun.cb$$n1.cbp2p
	cb_config n1 RS256 keys "dns: resolvconf"
	sha256sum /etc/resolv.conf /var/lib/dpkg/status > host.sum
	dpkg -s resolvconf > /dev/null 2>&1 && had_pkg=1 || had_pkg=
	[ -e /run/resolvconf ] && had_run=1 || had_run=

	debns_up
	inmnt readlink /etc/resolv.conf | grep -q 'run/resolvconf/resolv.conf$' ||
	    { cat debns.log; atf_fail "resolvconf did not link /etc/resolv.conf"; }
	printf '%s\n' "$DHCP_TEXT" | inmnt resolvconf -a "$DHCP_REC" ||
	    atf_fail "resolvconf -a $DHCP_REC"
	rc_conf > base.conf
	grep -q '^nameserver 192.0.2.1$' base.conf ||
	    { cat base.conf; atf_fail "resolvconf made no resolv.conf"; }

	token '"dns": ["10.99.0.53", "fd00::53"], "dns_search": ["mesh.example"]'
	rc_start
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
	nsenter -t "$(cat debns.pid)" -m --net="/run/netns/$NS" \
	    python3 "$DNSANSWER" 10.99.0.53 db.mesh.example 10.99.0.77 \
	    > dns.log 2>&1 &
	echo $! > dnsanswer.pid
	cb_until 10 sh -c "nsenter -t $(cat debns.pid) -m \
	    --net=/run/netns/$NS getent ahostsv4 db | grep -q 10.99.0.77" ||
	    { cat dns.log; atf_fail "db did not resolve through the mesh's server"; }

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
	kill -TERM "$(cat n1.pid)"
	cb_wait_exit "$(cat n1.pid)" || atf_fail "cbp2pd did not exit"
	inmnt test -e "/run/resolvconf/interface/$REC" &&
	    { cat n1.log; atf_fail "record left after SIGTERM"; }
	rc_conf | cmp -s - base.conf ||
	    { rc_conf | diff base.conf -; atf_fail "resolv.conf not as it was"; }
	grep -q "mesh DNS taken back (resolvconf)" n1.log || atf_fail "not logged"

	# Nothing of it outside.
	sha256sum -c --quiet host.sum ||
	    atf_fail "the machine's resolv.conf or dpkg database changed"
	[ -z "$had_pkg" ] && dpkg -s resolvconf > /dev/null 2>&1 &&
	    atf_fail "resolvconf installed on the machine"
	[ -z "$had_run" ] && [ -e /run/resolvconf ] &&
	    atf_fail "/run/resolvconf on the machine"
	return 0
}
resolvconf_cleanup()
{
	common
	[ -f dnsanswer.pid ] && kill "$(cat dnsanswer.pid)" 2>/dev/null
	cb_kill n1
	[ -f debns.pid ] && kill "$(cat debns.pid)" 2>/dev/null
	return 0
}

atf_init_test_cases()
{
	atf_add_test_case file_block
	atf_add_test_case off_and_leftover
	atf_add_test_case resolvconf
}
