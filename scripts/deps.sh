#!/bin/sh
# Install what cbp2p needs to build and test on Debian 12.
# Idempotent and non-interactive: only missing packages are fetched.
set -eu

# clang and libclang-rt-dev (libFuzzer, only recommended by clang) build
# the fuzz targets in regress/fuzz; debhelper and fakeroot make deb,
# systemd brings systemd-analyze, which checks the units.
PKGS="build-essential pkg-config
libevent-dev libbsd-dev libsodium-dev libssl-dev libjwt-dev
libjansson-dev libyaml-dev libseccomp-dev
atf-sh libatf-dev kyua mandoc clang libclang-rt-dev
iproute2 nftables iputils-ping jq python3 procps psmisc openssl
wireguard-go wireguard-tools iperf3 bc curl prometheus
debhelper fakeroot dpkg-dev systemd"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# prometheus' postinst enables and may start its service: tests run
# their own server on their own port and storage, so none is left on.
if systemctl cat prometheus.service > /dev/null 2>&1; then
	systemctl disable --now prometheus.service > /dev/null 2>&1 || true
fi
