#!/bin/sh
# t_deb's inside: run by `unshare -m --propagation private`, so every
# mount below is this process's own.  /etc, /usr and /var become
# overlays on a tmpfs: dpkg installs, runs its maintainer scripts and
# purges for real, and the machine's own files, dpkg database and users
# never change.  Usage: debroot.sh DEB NETNS IFNAME WORKDIR
set -eu

deb=$1 ns=$2 ifname=$3 work=$4
PKG=cbp2p
USER=_cbp2p
CONF=/etc/cbp2p/cbp2pd.yaml
WAIT_SECS=20

fail()
{
	echo "debroot: $*" >&2
	exit 1
}

ovl=$work/ovl
mkdir -p "$ovl"
mount -t tmpfs tmpfs "$ovl"
for d in etc usr var; do
	mkdir "$ovl/$d.u" "$ovl/$d.w"
	mount -t overlay overlay \
	    -o "lowerdir=/$d,upperdir=$ovl/$d.u,workdir=$ovl/$d.w" "/$d"
done

# A machine that has never seen the package: no user of that name (only
# in this overlay: -f, the machine's own tests may run as it).
if getent passwd "$USER" > /dev/null; then
	userdel -f "$USER" 2> /dev/null || fail "userdel $USER"
fi
getent group "$USER" > /dev/null && groupdel "$USER"
dpkg -s "$PKG" > /dev/null 2>&1 && fail "$PKG is installed on this machine"

echo "== dpkg -i"
dpkg -i "$deb" || fail "dpkg -i"
dpkg -L "$PKG" > "$work/files"
for f in /usr/sbin/cbp2pd /usr/sbin/cbp2pctl /usr/sbin/cbedged \
    /usr/sbin/cbp2p-wg /usr/libexec/cbp2p/cbdiscod \
    /usr/libexec/cbp2p/cbmeshd /usr/libexec/cbp2p/cbrelayd \
    /lib/systemd/system/cbp2pd.service /lib/systemd/system/cbedged.service \
    /usr/share/man/man8/cbp2pd.8.gz /usr/share/man/man5/cbp2pd.yaml.5.gz \
    "$CONF" /etc/cbp2p/cbedged.yaml; do
	grep -qx "$f" "$work/files" || fail "$f is not in the package"
	[ -e "$f" ] || fail "$f not installed"
done
getent passwd "$USER" > /dev/null || fail "postinst made no $USER"
[ "$(dpkg-query -W -f='${Conffiles}' "$PKG" | grep -c /etc/cbp2p/)" = 2 ] ||
    fail "configuration files are not conffiles"

echo "== systemd-analyze verify"
for u in cbp2pd cbedged; do
	systemd-analyze verify "/lib/systemd/system/$u.service" \
	    > "$work/verify.$u" 2>&1 || { cat "$work/verify.$u"; fail "verify $u"; }
	[ -s "$work/verify.$u" ] && { cat "$work/verify.$u"; fail "verify $u said something"; }
	systemd-analyze security --offline=true --no-pager \
	    "/lib/systemd/system/$u.service" > "$work/security.$u" 2>&1 ||
	    true
	tail -1 "$work/security.$u"
done

echo "== the installed cbp2pd, as the unit runs it"
cp "$work/n1.jwt" /etc/cbp2p/node.jwt
cp "$work/keys/rs256.pub" /etc/cbp2p/edge-jwt.pub
chmod 600 /etc/cbp2p/node.jwt
# The packaged file with what a test must not share with the machine:
# an interface and a control socket of its own.
sed -i -e "s/^interface: .*/interface: $ifname/" \
    -e "s|^#control_socket: .*|control_socket: $work/n1.sock|" "$CONF"
grep -q "^control_socket: $work/n1.sock" "$CONF" || fail "config edit"
# ExecStartPre, then ExecStart.
/usr/sbin/cbp2pd -n -f "$CONF" || fail "cbp2pd -n refused the configuration"
ip netns exec "$ns" /usr/sbin/cbp2pd -d -f "$CONF" > "$work/n1.log" 2>&1 &
pid=$!
echo "$pid" > "$work/n1.pid"
end=$(($(date +%s) + WAIT_SECS))
ready=
while [ "$(date +%s)" -lt "$end" ]; do
	if /usr/sbin/cbp2pctl -s "$work/n1.sock" -j status > "$work/st.json" \
	    2> /dev/null && [ "$(jq '[.children[] | select(.configs >= 1)] |
	    length' "$work/st.json")" = 4 ]; then
		ready=1
		break
	fi
	kill -0 "$pid" 2> /dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || { cat "$work/n1.log"; fail "cbp2pd did not come up"; }
/usr/sbin/cbp2pctl -s "$work/n1.sock" status
# Its children are the installed ones, as the unprivileged user.
for c in $(pgrep -P "$pid"); do
	exe=$(readlink "/proc/$c/exe")
	case $exe in
	/usr/libexec/cbp2p/*|/usr/sbin/cbp2pd) ;;
	*) fail "child $c runs $exe" ;;
	esac
	[ "$(stat -c %U "/proc/$c")" = "$USER" ] || fail "child $c not $USER"
done
kill -TERM "$pid"
wait "$pid" || fail "cbp2pd exited non-zero"

echo "== dpkg --purge"
# The administrator's files, which dpkg does not own, go first.
rm -f /etc/cbp2p/node.jwt /etc/cbp2p/edge-jwt.pub
dpkg --purge "$PKG" || fail "dpkg --purge"
dpkg -s "$PKG" > /dev/null 2>&1 && fail "still installed"
while read -r f; do
	[ -d "$f" ] && continue		# shared directories stay
	[ -e "$f" ] || [ -L "$f" ] && fail "$f left after purge"
done < "$work/files"
[ -e /etc/cbp2p ] && fail "/etc/cbp2p left: $(ls -A /etc/cbp2p)"
[ -e /var/lib/cbp2p ] && fail "/var/lib/cbp2p left"
getent passwd "$USER" > /dev/null && fail "$USER left"
getent group "$USER" > /dev/null && fail "group $USER left"
echo "debroot: installed, ran, purged"
