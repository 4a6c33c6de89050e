#! /usr/bin/atf-sh
# cbp2pd(8): "While more than 128 handshake messages a second arrive,
# each source address gets at most 20 handshake replies a second."  A
# runs cbp2pd; B floods it with handshake initiations whose mac1 is
# valid (so they pass the first check) from forged keys, from two
# addresses and several ports each, and counts what comes back.  The
# bound is the documented 20 a second and the burst of 5 the limiter
# allows (cbp2pd/engine.h HANDSHAKE_BURST); nothing depends on how fast
# the machine sends, beyond the 128 a second that any machine exceeds.

common()
{
	. "$(atf_get_srcdir)/common.sh"
	RATE=20
	BURST=5
}

# flood SECONDS SRC...: initiations from 4 ports of each SRC to A (at
# $DST, 10.200.0.1 unless set; IPv4 or IPv6) as fast as they go, then 1 s more of listening; prints per source
# {"sent", "replies", "cookies", "other"} and "elapsed", the seconds
# from the first send to the end of listening, as JSON.
flood()
{
	ip netns exec "$B" python3 - "$(cat a.pub)" "${DST:-10.200.0.1}" "$@" \
	    <<'PY'
import base64, hashlib, json, os, select, socket, struct, sys, time
pub = base64.b64decode(sys.argv[1])
dst = sys.argv[2]
secs = float(sys.argv[3])
srcs = sys.argv[4:]
key = hashlib.blake2s(b"mac1----" + pub).digest()
def initiation():
	body = struct.pack("<II", 1, int.from_bytes(os.urandom(4), "little"))
	body += os.urandom(116 - len(body))
	return body + hashlib.blake2s(body, key=key, digest_size=16).digest() \
	    + bytes(16)
pkts = [initiation() for _ in range(512)]
socks = []
for src in srcs:
	for _ in range(4):
		s = socket.socket(socket.AF_INET6 if ":" in src else
		    socket.AF_INET, socket.SOCK_DGRAM)
		s.bind((src, 0))
		s.setblocking(False)
		socks.append((src, s))
out = {src: {"sent": 0, "replies": 0, "cookies": 0, "other": 0}
    for src in srcs}
def drain():
	for src, s in socks:
		while True:
			try:
				r = s.recv(2048)
			except BlockingIOError:
				break
			out[src]["replies"] += 1
			if len(r) == 64 and r[0] == 3:
				out[src]["cookies"] += 1
			else:
				out[src]["other"] += 1
start = time.monotonic()
end = start + secs
i = 0
while time.monotonic() < end:
	for src, s in socks:
		try:
			s.sendto(pkts[i % len(pkts)], (dst, 51821))
			out[src]["sent"] += 1
		except BlockingIOError:
			pass
		i += 1
	if i % 64 == 0:
		drain()
listen = time.monotonic() + 1
while time.monotonic() < listen:
	select.select([s for _, s in socks], [], [], 0.1)
	drain()
out["elapsed"] = round(time.monotonic() - start, 3)
print(json.dumps(out))
PY
}

atf_test_case per_source cleanup
per_source_head()
{
	atf_set descr "under a handshake flood each source gets at most 20 replies a second"
	atf_set require.user root
	atf_set timeout 120
}
per_source_body()
{
	common
	cb_two_ns
	ip -n "$B" addr add 10.200.0.3/24 dev eth0
	cb_wgkeys a
	PORT=51821 cb_claims a server-server 10.99.0.1/24
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start a
	cb_ctl a -j status > before.json
	flood 5 10.200.0.2 10.200.0.3 > flood.json || atf_fail "flood"
	cat flood.json
	cb_ctl a -j status > after.json
	el=$(jq .elapsed flood.json)
	for src in 10.200.0.2 10.200.0.3; do
		s=$(jq --arg s $src '.[$s].sent' flood.json)
		c=$(jq --arg s $src '.[$s].cookies' flood.json)
		o=$(jq --arg s $src '.[$s].other' flood.json)
		echo "$src: $s initiations sent, $c cookie replies in $el s" \
		    "(bound $BURST + $RATE x $el)"
		# Far above 128 a second: the limit applies.
		[ "$s" -ge 1280 ] || atf_fail "$src sent only $s"
		[ "$o" = 0 ] || atf_fail "$src got $o replies that are not cookies"
		# The limiter answers (at least its burst) ...
		[ "$c" -ge $BURST ] || atf_fail "$src got only $c cookie replies"
		# ... and no more than the rate allows over the whole run, with
		# one reply of slack for the clock's rounding.
		jq -e --arg s $src --argjson r $RATE --argjson b $BURST \
		    '.[$s].cookies <= $b + $r * .elapsed + 1' flood.json \
		    > /dev/null || atf_fail "$src got $c replies in $el s:" \
		    "more than $RATE a second"
	done
	# cbp2pd counted what it answered and what it dropped.
	sent=$(($(jq .cookies_sent after.json) - $(jq .cookies_sent before.json)))
	got=$(jq '."10.200.0.2".cookies + ."10.200.0.3".cookies' flood.json)
	dropped=$(($(jq .drops.ratelimit after.json) - \
	    $(jq .drops.ratelimit before.json)))
	echo "cbp2pd: $sent cookie replies sent, $dropped dropped by the limit"
	[ "$sent" = "$got" ] || atf_fail "cookies_sent $sent, received $got"
	[ "$dropped" -ge 1000 ] || atf_fail "only $dropped rate-limit drops"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
}
per_source_cleanup()
{
	common
	cb_kill a
}

atf_test_case per_64 cleanup
per_64_head()
{
	atf_set descr "under a handshake flood the addresses of one IPv6 /64 share one source's 20 replies a second"
	atf_set require.user root
	atf_set timeout 120
}
per_64_body()
{
	common
	cb_two_ns
	# Two /64s on the link: B floods from 16 addresses of the first
	# and from one of the second.
	ip -n "$A" addr add fd00:200::1/64 dev eth0 nodad
	ip -n "$A" addr add fd00:202::1/64 dev eth0 nodad
	MANY=""
	for i in 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f; do
		ip -n "$B" addr add fd00:200::$i/64 dev eth0 nodad
		MANY="$MANY fd00:200::$i"
	done
	ip -n "$B" addr add fd00:202::2/64 dev eth0 nodad
	cb_wgkeys a
	PORT=51821 cb_claims a server-server 10.99.0.1/24
	cb_token a ES256 keys
	cb_config a ES256 keys
	cb_start a
	DST=fd00:200::1 flood 5 $MANY fd00:202::2 > flood.json ||
	    atf_fail "flood"
	cat flood.json
	el=$(jq .elapsed flood.json)
	# The 16 addresses of one /64, 64 sockets, are one source ...
	jq -e '[to_entries[] | select(.key | startswith("fd00:200::")) |
	    .value.sent] | add >= 1280' flood.json > /dev/null ||
	    atf_fail "the /64 sent too little to load cbp2pd"
	c=$(jq '[to_entries[] | select(.key | startswith("fd00:200::")) |
	    .value.cookies] | add' flood.json)
	echo "fd00:200::/64, 16 addresses: $c cookie replies in $el s" \
	    "(bound $BURST + $RATE x $el)"
	[ "$c" -ge $BURST ] || atf_fail "the /64 got only $c cookie replies"
	jq -e --argjson c "$c" --argjson r $RATE --argjson b $BURST \
	    '$c <= $b + $r * .elapsed + 1' flood.json > /dev/null ||
	    atf_fail "the /64 got $c replies in $el s: more than one source's"
	# ... and the next /64 is another, with its own allowance.
	c=$(jq '."fd00:202::2".cookies' flood.json)
	echo "fd00:202::2: $c cookie replies in $el s"
	[ "$c" -ge $BURST ] || atf_fail "the other /64 got only $c replies"
	jq -e --argjson r $RATE --argjson b $BURST \
	    '."fd00:202::2".cookies <= $b + $r * .elapsed + 1' flood.json \
	    > /dev/null || atf_fail "the other /64 got $c replies in $el s"
	kill -0 "$(cat a.pid)" || atf_fail "cbp2pd died"
}
per_64_cleanup()
{
	common
	cb_kill a
}

atf_init_test_cases()
{
	atf_add_test_case per_source
	atf_add_test_case per_64
}
