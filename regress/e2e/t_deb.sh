#! /usr/bin/atf-sh
# The Debian package (make deb builds it into obj/deb/): installed with
# dpkg, its units checked by systemd-analyze, the installed cbp2pd run
# from the installed default configuration path as the unit's ExecStart
# runs it, then purged, leaving nothing.  There is no systemd as PID 1
# here, so "started" is the unit's command line, not systemctl.  All of
# it happens in a private mount namespace whose /etc, /usr and /var are
# overlays (debroot.sh): the machine's files, dpkg database and users
# stay as they were, which the test checks from outside too.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

atf_test_case install_run_purge cleanup
install_run_purge_head()
{
	atf_set descr "the package installs (files, conffiles, the _cbp2p user), its units verify, the installed cbp2pd comes up, and purge leaves nothing"
	atf_set require.user root
	atf_set require.progs dpkg unshare systemd-analyze jq
	atf_set timeout 120
}
install_run_purge_body()
{
	common
	deb=$(ls "$TOP"/obj/deb/cbp2p_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || atf_fail "no package in obj/deb: run make deb"
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	cb_claims n1 client-server 10.99.0.3/24
	cb_token n1 RS256 keys
	NS=$(cb_ns n1)
	echo "cbdeb$$" > ifname
	ls -la /etc /usr/sbin /var/lib > before.ls
	getent passwd > before.passwd
	unshare -m --propagation private sh "$(atf_get_srcdir)/debroot.sh" \
	    "$deb" "$NS" "cbdeb$$" "$PWD" ||
	    { cat n1.log 2>/dev/null; atf_fail "see debroot's output"; }
	# Nothing of it outside.
	dpkg -s cbp2p > /dev/null 2>&1 && atf_fail "installed on the machine"
	[ -e /usr/sbin/cbp2pd ] && atf_fail "/usr/sbin/cbp2pd on the machine"
	ls -la /etc /usr/sbin /var/lib > after.ls
	getent passwd > after.passwd
	cmp -s before.passwd after.passwd || atf_fail "users changed"
	diff before.ls after.ls || atf_fail "the machine's directories changed"
	for u in cbp2pd cbedged; do
		echo "systemd-analyze security $u:"
		tail -1 "security.$u"
	done
}
install_run_purge_cleanup()
{
	common
	[ -f n1.pid ] && kill -9 "$(cat n1.pid)" 2>/dev/null
	[ -f ifname ] && rm -f "/var/run/wireguard/$(cat ifname).sock"
	cb_ns_cleanup
	return 0
}

atf_init_test_cases()
{
	atf_add_test_case install_run_purge
}
