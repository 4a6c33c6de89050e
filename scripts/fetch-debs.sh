#!/bin/sh
# Fetch Debian packages that end-to-end tests install inside overlays of
# /etc, /usr and /var in a private mount namespace (never on the
# machine): each named package, with those of its dependencies this
# machine lacks, as .deb files into DIR/PACKAGE/.  Nothing is installed
# here.  Usage: fetch-debs.sh DIR PACKAGE...
set -eu

[ $# -ge 2 ] || { echo "usage: fetch-debs.sh DIR PACKAGE..." >&2; exit 2; }
dir=$1
shift

# What apt would install for PKG[=VERSION]: "NAME" for a new package,
# "NAME [OLD]" for an upgrade of an installed one.
plan()
{
	apt-get -s -q --no-install-recommends install "$1" 2>/dev/null |
	    sed -n 's/^Inst \([^ ]*\) \(\[[^]]*\]\)\{0,1\}.*/\1 \2/p'
}

# The version of PKG to fetch: the newest one that upgrades nothing
# installed (systemd-resolved must be the installed systemd's version,
# which may be the security suite's, not the newest), else the newest.
version()
{
	for v in $(apt-cache madison "$1" | awk '{ print $3 }'); do
		if ! plan "$1=$v" | grep -q '\['; then
			echo "$1=$v"
			return 0
		fi
	done
	echo "$1"
}

fetch()
{
	rm -rf "$dir"
	for p in "$@"; do
		mkdir -p "$dir/$p"
		pv=$(version "$p")
		# The package itself even when installed here, and what it
		# needs that is not (lsb-base is provided by sysvinit-utils).
		names=$( (echo "$pv"; plan "$pv" | awk '{ print $1 }' |
		    grep -vx "$p") | sort -u)
		# shellcheck disable=SC2086
		(cd "$dir/$p" && apt-get download -q $names) || return 1
	done
}

# A machine whose package lists were never fetched (or were cleaned)
# knows no package yet: fetch the lists once and try again.
if ! fetch "$@"; then
	echo "fetch-debs: updating the package lists" >&2
	apt-get update -q
	fetch "$@"
fi
ls -R "$dir"
