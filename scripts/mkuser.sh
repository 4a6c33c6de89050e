#!/bin/sh
# Create the unprivileged system user the cbp2p children run as.
set -eu
user=${1:-_cbp2p}
if ! getent passwd "$user" >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --user-group "$user"
fi
