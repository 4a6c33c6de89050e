#!/bin/sh
# A mount namespace with Debian packages installed in it, for a test
# to enter with nsenter(1): run by `unshare -m --propagation private`,
# so every mount below is this process's own.  /etc, /usr and /var
# become overlays on a tmpfs and /run a tmpfs of its own; dpkg installs
# the packages and runs their maintainer scripts for real, and the
# machine's files, dpkg database and /run never change.  Then it
# touches WORKDIR/debns.ready and holds the namespace open for at most
# HOLD seconds (the test kills it sooner).
# Usage: debns.sh WORKDIR HOLD DEB...
set -eu

work=$1 hold=$2
shift 2

fail()
{
	echo "debns: $*" >&2
	exit 1
}

ovl=$work/debns
mkdir -p "$ovl"
mount -t tmpfs tmpfs "$ovl"
for d in etc usr var; do
	mkdir "$ovl/$d.u" "$ovl/$d.w"
	mount -t overlay overlay \
	    -o "lowerdir=/$d,upperdir=$ovl/$d.u,workdir=$ovl/$d.w" "/$d"
done
# A /run of our own: a maintainer script that finds /run/systemd/system
# (a machine booted with systemd) calls systemctl daemon-reload and
# deb-systemd-invoke start, which would reach the machine's systemd
# through /run/systemd/private and /run/dbus.  Here they find neither,
# and what the packages keep in /run (/run/resolvconf) is ours alone.
# /run/netns stays behind: tests name network namespaces by file
# (nsenter --net=/run/netns/NS) before they enter this one.
mount -t tmpfs -o mode=0755 tmpfs /run
# And invoke-rc.d starts no service, as in a chroot (policy-rc.d(8)).
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

echo "== dpkg -i $*"
DEBIAN_FRONTEND=noninteractive dpkg -i "$@" || fail "dpkg -i"
touch "$work/debns.ready"
exec sleep "$hold"
