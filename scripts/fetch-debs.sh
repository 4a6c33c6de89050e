#!/bin/sh
# Fetch Debian packages that end-to-end tests install inside overlays of
# /etc, /usr and /var in a private mount namespace (never on the
# machine): each named package, and those of its dependencies this
# machine lacks, as .deb files into DIR.  Nothing is installed here.
# Usage: fetch-debs.sh DIR PACKAGE...
set -eu

[ $# -ge 2 ] || { echo "usage: fetch-debs.sh DIR PACKAGE..." >&2; exit 2; }
dir=$1
shift

# The dependencies the machine does not have, as apt would install them
# (lsb-base for resolvconf on a bare Debian 12).
missing()
{
	apt-get -s -q --no-install-recommends install "$@" 2>/dev/null |
	    sed -n 's/^Inst \([^ ]*\) .*/\1/p'
}

fetch()
{
	rm -rf "$dir"
	mkdir -p "$dir"
	names=$(for p in "$@" $(missing "$@"); do echo "$p"; done | sort -u)
	# shellcheck disable=SC2086
	(cd "$dir" && apt-get download -q $names)
}

# A machine whose package lists were never fetched (or were cleaned)
# knows no package yet: fetch the lists once and try again.
if ! fetch "$@"; then
	echo "fetch-debs: updating the package lists" >&2
	apt-get update -q
	fetch "$@"
fi
ls "$dir"
