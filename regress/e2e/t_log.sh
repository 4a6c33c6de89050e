#! /usr/bin/atf-sh
# Logs (cbp2pd.yaml(5): log_format; cbp2pd(8): logging).  With
# log_format json every line on standard error, the parent's and every
# child's, is one JSON object with the time, program, pid, level and
# message.  Without -d, and with -d under systemd's journal
# (JOURNAL_STREAM names standard error), every process logs through
# syslog(3) under its own name, pid and level: a syslog socket of the
# test's own at /dev/log, in a private mount namespace whose /dev is an
# overlay, catches them, and the machine's /dev stays as it was.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

PROCS="cbp2pd cbdiscod cbmeshd cbrelayd engine"

node()
{
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	cb_claims n1 client-server 10.99.0.3/24
	cb_token n1 RS256 keys
	cb_config n1 RS256 keys
}

atf_test_case json_lines cleanup
json_lines_head()
{
	atf_set descr "log_format json: every stderr line of the parent and of each child is a JSON object with ts, proc, pid, level and msg"
	atf_set require.user root
	atf_set require.progs python3
	atf_set timeout 60
}
json_lines_body()
{
	common
	node
	sed -i 's/^log_format: text/log_format: json/' n1.yaml
	cb_start n1 -v
	cb_ctl n1 reload > /dev/null || atf_fail "reload"
	cb_ctl n1 log verbose > /dev/null || atf_fail "log verbose"
	kill -TERM "$(cat n1.pid)"
	cb_wait_exit "$(cat n1.pid)" || atf_fail "cbp2pd did not exit"
	python3 - n1.log "$(cat n1.pid)" $PROCS <<'PY' || atf_fail "not JSON lines"
import json, re, sys
path, parent, want = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
levels = {"crit", "error", "warning", "notice", "info", "debug"}
ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
seen, pids, n = set(), {}, 0
for i, line in enumerate(open(path), 1):
    try:
        o = json.loads(line)
    except ValueError as e:
        sys.exit("line %d is not JSON (%s): %r" % (i, e, line))
    if not isinstance(o, dict) or set(o) != {"ts", "proc", "pid", "level", "msg"}:
        sys.exit("line %d: fields %r" % (i, sorted(o)))
    if not ts.match(o["ts"]) or o["level"] not in levels or \
            not isinstance(o["pid"], int) or not isinstance(o["msg"], str):
        sys.exit("line %d: values %r" % (i, o))
    seen.add(o["proc"])
    pids.setdefault(o["proc"], set()).add(o["pid"])
    n += 1
if pids.get("cbp2pd") != {parent}:
    sys.exit("cbp2pd's lines name pids %r, not %d" % (pids.get("cbp2pd"), parent))
if not want <= seen:
    sys.exit("no lines from %s" % sorted(want - seen))
print("%d lines, all JSON, from %s" % (n, sorted(seen)))
PY
}
json_lines_cleanup()
{
	common
	cb_kill n1
}

atf_test_case syslog_names cleanup
syslog_names_head()
{
	atf_set descr "syslog (daemon mode, and -d under the journal): each process logs under its own name with its level"
	atf_set require.user root
	atf_set require.progs python3 unshare
	atf_set timeout 90
}
syslog_names_body()
{
	common
	node
	NS=$(cb_ns n1)
	echo "$NS" > n1.ns
	cat > inside.sh <<SH
set -eu
rm -f listening
d=\$(mktemp -d "$PWD/ovl.XXXXXX")
mount -t tmpfs tmpfs "\$d"
mkdir "\$d/u" "\$d/w"
mount -t overlay overlay -o "lowerdir=/dev,upperdir=\$d/u,workdir=\$d/w" /dev
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open("listening", "w").close()
with open(sys.argv[1], "ab", 0) as f:
    while True:
        f.write(s.recv(4096).replace(b"\n", b" ") + b"\n")
' "\$1" &
lp=\$!
trap 'kill \$lp' EXIT
while [ ! -e listening ]; do sleep 0.1; done
shift
"\$@"
SH
	# Daemon mode: no -d, cbp2pd detaches; its pid from status.
	unshare -m --propagation private sh inside.sh "$PWD/daemon.syslog" \
	    sh -c "ip netns exec $NS $CBP2PD -v -x $OBJ -f $PWD/n1.yaml &&
	    for i in \$(seq 200); do $CBP2PCTL -s $PWD/n1.sock -j status \
	    > st.json 2>/dev/null && [ \$(jq '[.children[] | select(.configs >= 1)] | length' st.json) = 4 ] && break; sleep 0.1; done
	    pid=\$(jq .pid st.json); echo \$pid > n1.pid; kill -TERM \$pid;
	    while kill -0 \$pid 2>/dev/null; do sleep 0.1; done" ||
	    atf_fail "daemon mode run failed"
	echo "=== daemon.syslog"; cat daemon.syslog
	# -d under the journal: JOURNAL_STREAM names standard error.
	: > fg.err
	unshare -m --propagation private sh inside.sh "$PWD/fg.syslog" \
	    sh -c "JOURNAL_STREAM=\$(stat -c %d:%i fg.err) ip netns exec $NS \
	    $CBP2PD -d -v -x $OBJ -f $PWD/n1.yaml 2>> fg.err & echo \$! > n1.pid
	    for i in \$(seq 200); do $CBP2PCTL -s $PWD/n1.sock -j status \
	    > st.json 2>/dev/null && [ \$(jq '[.children[] | select(.configs >= 1)] | length' st.json) = 4 ] && break; sleep 0.1; done
	    kill -TERM \$(cat n1.pid); wait" ||
	    atf_fail "journal mode run failed"
	echo "=== fg.syslog"; cat fg.syslog; echo "=== fg.err"; cat fg.err; echo "==="
	[ -s fg.err ] && { cat fg.err; atf_fail "lines went to stderr"; }
	for f in daemon.syslog fg.syslog; do
		python3 - "$f" $PROCS <<'PY' || atf_fail "$f"
import re, sys
path, want = sys.argv[1], set(sys.argv[2:])
# "<PRI>Mmm dd hh:mm:ss NAME[PID]: message", PRI = facility * 8 + level
rx = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([\w-]+)\[(\d+)\]: (.*)$")
seen, levels = set(), set()
for line in open(path):
    m = rx.match(line.rstrip("\n"))
    if m is None:
        sys.exit("%s: not a syslog line: %r" % (path, line))
    pri, name = int(m.group(1)), m.group(2)
    if pri // 8 != 3:
        sys.exit("%s: facility %d, not daemon" % (path, pri // 8))
    seen.add(name)
    levels.add(pri % 8)
if not want <= seen:
    sys.exit("%s: no lines from %s (seen %s)" % (path, sorted(want - seen), sorted(seen)))
# info (6) and debug (7) at least, and the error lines of a node
# without an edge (3).
if not {3, 6, 7} <= levels:
    sys.exit("%s: levels %s" % (path, sorted(levels)))
print("%s: %s" % (path, sorted(seen)))
PY
	done
}
syslog_names_cleanup()
{
	common
	cb_kill n1
	rmdir ovl.* 2>/dev/null
	return 0
}

atf_init_test_cases()
{
	atf_add_test_case json_lines
	atf_add_test_case syslog_names
}
