#! /usr/bin/atf-sh
# cbp2pd as a privilege-separated daemon: sandboxed children, control
# socket, reload, a child's death, clean termination.

common()
{
	. "$(atf_get_srcdir)/common.sh"
}

# A running node with an ES256 token, named n1.
start_node()
{
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	cb_claims n1 p2p-mesh 10.99.0.1/24
	cb_token n1 ES256 keys
	cb_config n1 ES256 keys
	cb_start n1
}

atf_test_case sandbox cleanup
sandbox_head()
{
	atf_set descr "each child runs unprivileged, chrooted, no_new_privs, seccomp"
	atf_set require.user root
	atf_set timeout 60
}
sandbox_body()
{
	common
	start_node
	parent=$(cat n1.pid)
	n=0
	for pid in $(cb_children n1); do
		name=$(cat /proc/$pid/comm)
		uid=$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)
		nnp=$(awk '/^NoNewPrivs:/ { print $2 }' /proc/$pid/status)
		sec=$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status)
		root=$(readlink /proc/$pid/root)
		echo "$name pid $pid uid $uid nnp $nnp seccomp $sec root $root"
		[ "$uid" -ne 0 ] || atf_fail "$name runs as root"
		[ "$uid" = "$(id -u _cbp2p)" ] || atf_fail "$name uid $uid"
		[ "$nnp" = 1 ] || atf_fail "$name: NoNewPrivs $nnp"
		[ "$sec" = 2 ] || atf_fail "$name: Seccomp $sec"
		[ "$root" = "$PWD/empty" ] || atf_fail "$name: root is $root"
		n=$((n + 1))
	done
	# cbdiscod, cbmeshd, cbrelayd and the engine (cbp2pd -E).
	[ $n = 4 ] || atf_fail "expected 4 children, found $n"
	# The parent keeps root; it is the one with the key and the tun.
	[ "$(awk '/^Uid:/ { print $2 }' /proc/$parent/status)" = 0 ] ||
	    atf_fail "parent is not root"

	# Status: the daemon's own figures and every child's.
	cb_ctl n1 -j status > st.json || atf_fail "status failed"
	cat st.json
	[ "$(jq -r .connection_type st.json)" = p2p-mesh ] ||
	    atf_fail "connection type"
	[ "$(jq -r .public_key st.json)" = "$(cat n1.pub)" ] ||
	    atf_fail "public key"
	[ "$(jq -r .interface st.json)" = "cb$$n1" ] || atf_fail "interface"
	[ "$(jq -r .pid st.json)" = "$parent" ] || atf_fail "parent pid"
	for c in cbdiscod cbmeshd cbrelayd engine; do
		cpid=$(jq -r ".children[] | select(.name == \"$c\") | .pid" \
		    st.json)
		comm=$c
		[ $c = engine ] && comm=cbp2pd
		[ "$(cat /proc/$cpid/comm)" = "$comm" ] ||
		    atf_fail "$c: pid $cpid is not $c"
		[ "$(jq -r ".children[] | select(.name == \"$c\") | .uid" \
		    st.json)" = "$(id -u _cbp2p)" ] || atf_fail "$c uid"
		[ "$(jq -r ".children[] | select(.name == \"$c\") | \
		    .messages" st.json)" -ge 2 ] || atf_fail "$c messages"
	done
	cb_ctl n1 status > st.txt || atf_fail "text status failed"
	grep -q "public key: *$(cat n1.pub)" st.txt || atf_fail "text status"
	# The control socket: root-owned, mode 0660.
	[ "$(stat -c '%a %u' n1.sock)" = "660 0" ] ||
	    atf_fail "control socket mode $(stat -c '%a %u' n1.sock)"
}
sandbox_cleanup()
{
	common
	cb_kill n1
}

atf_test_case reload cleanup
reload_head()
{
	atf_set descr "SIGHUP and cbp2pctl reload: a bad config is refused and the running one kept"
	atf_set require.user root
	atf_set timeout 60
}
reload_body()
{
	common
	start_node
	cp n1.jwt good.jwt
	# A token signed by another key: the reload must be refused.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out other.key 2>/dev/null
	"$CBP2PCTL" token -a ES256 -k other.key n1.claims > n1.jwt
	kill -HUP "$(cat n1.pid)"
	cb_until 10 grep -q "reload refused" n1.log
	grep "reload refused" n1.log || atf_fail "no reload failure logged"
	cb_ctl n1 -j status > st.json
	[ "$(jq .reloads_failed st.json)" = 1 ] || atf_fail "not counted"
	[ "$(jq .generation st.json)" = 1 ] || atf_fail "generation changed"
	[ "$(jq '[.children[] | select(.generation == 1)] | length' \
	    st.json)" = 4 ] || atf_fail "children lost their config"

	# The same through cbp2pctl: a clear error and exit 1.
	atf_check -s exit:1 -o match:"reload refused: token" \
	    "$CBP2PCTL" -s n1.sock reload

	# A good new token (another subnet address) is taken by all.
	cb_claims n1 server-server 10.99.0.7/24
	cb_token n1 ES256 keys
	atf_check -s exit:0 -o match:"generation 2" \
	    "$CBP2PCTL" -s n1.sock reload
	cb_ctl n1 -j status > st.json
	cat st.json
	[ "$(jq -r .connection_type st.json)" = server-server ] ||
	    atf_fail "new config not in effect"
	[ "$(jq '[.children[] | select(.generation == 2)] | length' \
	    st.json)" = 4 ] || atf_fail "children did not get generation 2"
	[ "$(jq .reloads st.json)" = 1 ] || atf_fail "reloads"
	kill -0 "$(cat n1.pid)" || atf_fail "daemon died"
}
reload_cleanup()
{
	common
	cb_kill n1
}

atf_test_case child_dies cleanup
child_dies_head()
{
	atf_set descr "a child killed: the parent says which and exits non-zero"
	atf_set require.user root
	atf_set timeout 60
}
child_dies_body()
{
	common
	start_node
	parent=$(cat n1.pid)
	kids=$(cb_children n1)
	mesh=$(pgrep -P "$parent" -x cbmeshd) || atf_fail "no cbmeshd"
	kill -9 "$mesh"
	cb_wait_exit "$parent" || atf_fail "parent still running"
	wait "$parent"
	rc=$?
	cat n1.log
	[ $rc -ne 0 ] || atf_fail "parent exited 0 after losing a child"
	grep -q "cbmeshd (pid $mesh) terminated by signal 9" n1.log ||
	    atf_fail "log does not say which child died and why"
	for k in $kids; do
		kill -0 "$k" 2>/dev/null && atf_fail "child $k left running"
	done
	[ ! -e n1.sock ] || atf_fail "control socket left behind"
}
child_dies_cleanup()
{
	common
	cb_kill n1
}

atf_test_case sigterm cleanup
sigterm_head()
{
	atf_set descr "SIGTERM: every process exits cleanly"
	atf_set require.user root
	atf_set timeout 60
}
sigterm_body()
{
	common
	start_node
	parent=$(cat n1.pid)
	kids=$(cb_children n1)
	kill -TERM "$parent"
	cb_wait_exit "$parent" || atf_fail "parent still running"
	wait "$parent"
	rc=$?
	cat n1.log
	[ $rc -eq 0 ] || atf_fail "parent exited $rc on SIGTERM"
	for k in $kids; do
		kill -0 "$k" 2>/dev/null && atf_fail "child $k left running"
	done
	pgrep -f "$PWD/n1.yaml" && atf_fail "processes left"
	[ ! -e n1.sock ] || atf_fail "control socket left behind"
}
sigterm_cleanup()
{
	common
	cb_kill n1
}

atf_test_case control_bad cleanup
control_bad_head()
{
	atf_set descr "bad control requests are refused and counted, the daemon carries on"
	atf_set require.user root
	atf_set timeout 60
}
control_bad_body()
{
	common
	start_node
	python3 - n1.sock <<'PY' || atf_fail "control socket probe failed"
import socket, struct, sys
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s
# An unknown request type, well framed: refused with a result.
s = conn()
s.sendall(struct.pack("<IHHII", 9999, 16, 0, 0, 0))
r = s.recv(4096)
assert len(r) > 16, r
typ, ln = struct.unpack("<IH", r[:6])
ok = struct.unpack("<i", r[16:20])[0]
assert ok == 0, ok
print("refused:", r[20:ln].split(b"\0")[0].decode())
# A status request with a payload it must not have.
s.sendall(struct.pack("<IHHII", 1, 20, 0, 0, 0) + b"abcd")
r = s.recv(4096)
assert struct.unpack("<i", r[16:20])[0] == 0
s.close()
# A header whose length is below the header size: connection dropped.
s = conn()
s.sendall(struct.pack("<IHHII", 1, 3, 0, 0, 0))
assert s.recv(4096) == b""
s.close()
# Garbage, then a close mid-message.
s = conn()
s.sendall(b"\xff" * 7)
s.close()
PY
	cb_ctl n1 -j status > st.json || atf_fail "daemon not answering"
	cat st.json
	[ "$(jq .control_refused st.json)" -ge 3 ] ||
	    atf_fail "refusals not counted"
	atf_check -s exit:0 -o match:verbose "$CBP2PCTL" -s n1.sock log verbose
	[ "$(cb_ctl n1 -j status | jq -r .log_level)" = verbose ] ||
	    atf_fail "log level not changed"
	atf_check -s exit:0 -o match:brief "$CBP2PCTL" -s n1.sock log brief
	atf_check -s exit:0 -o match:'"ok": true' \
	    "$CBP2PCTL" -j -s n1.sock log brief
}
control_bad_cleanup()
{
	common
	cb_kill n1
}

atf_test_case json_log cleanup
json_log_head()
{
	atf_set descr "log_format json writes one JSON object per line"
	atf_set require.user root
	atf_set timeout 60
}
json_log_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	cb_claims n1 client-server 10.99.0.3/24
	cb_token n1 RS256 keys
	cb_config n1 RS256 keys
	sed -i 's/^log_format: text/log_format: json/' n1.yaml
	cb_start n1 -v
	kill -TERM "$(cat n1.pid)"
	cb_wait_exit "$(cat n1.pid)"
	cat n1.log
	[ "$(wc -l < n1.log)" -ge 3 ] || atf_fail "too few log lines"
	jq -e -s 'all(.[]; has("ts") and has("level") and has("proc") and has("msg"))' \
	    n1.log || atf_fail "log lines are not JSON objects"
	jq -e -s '[.[].proc] | index("cbmeshd") != null' n1.log ||
	    atf_fail "children do not log JSON"
}
json_log_cleanup()
{
	common
	cb_kill n1
}

atf_test_case check_config
check_config_head()
{
	atf_set descr "cbp2pd -n accepts good tokens of each type and names the bad field"
	atf_set require.user root
	atf_set timeout 60
}
check_config_body()
{
	common
	IFNAME=cbchk$$
	cb_user
	cb_issuer_keys keys
	for t in client-server server-server p2p-mesh; do
		cb_wgkeys $t
		cb_claims $t $t 10.99.0.2/24
		for alg in RS256 ES256 HS256; do
			cb_token $t $alg keys
			cb_config $t $alg keys
			atf_check -s exit:0 -e match:"configuration OK" \
			    "$CBP2PD" -n -f "$PWD/$t.yaml"
		done
	done
	# A bad MTU: one line naming the field.
	cb_claims p2p-mesh p2p-mesh 10.99.0.2/24
	sed -i 's/"mtu": 1420/"mtu": 100000/' p2p-mesh.claims
	cb_token p2p-mesh ES256 keys
	cb_config p2p-mesh ES256 keys
	atf_check -s exit:1 -e match:"network_config.mtu" \
	    "$CBP2PD" -n -f "$PWD/p2p-mesh.yaml"
	[ "$("$CBP2PD" -n -f "$PWD/p2p-mesh.yaml" 2>&1 | wc -l)" = 1 ] ||
	    atf_fail "more than one line"
	# A token file readable by others is refused.
	cb_token p2p-mesh ES256 keys
	chmod 644 p2p-mesh.jwt
	atf_check -s exit:1 -e match:"p2p-mesh.jwt" \
	    "$CBP2PD" -n -f "$PWD/p2p-mesh.yaml"
}

# Field 6 of /proc/PID/stat, after the command name in parentheses.
session_of()
{
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $4 }'
}

atf_test_case stdio_session cleanup
stdio_session_head()
{
	atf_set descr "children read /dev/null and run in a session of their own; in the foreground they log to the parent's stderr"
	atf_set require.user root
	atf_set timeout 60
}
stdio_session_body()
{
	common
	# A standard input that is not /dev/null, so that it shows.
	echo "not for the children" > stdin.txt
	CB_STDIN=$PWD/stdin.txt
	start_node
	parent=$(cat n1.pid)
	[ "$(readlink /proc/$parent/fd/0)" = "$PWD/stdin.txt" ] ||
	    atf_fail "parent stdin is $(readlink /proc/$parent/fd/0)"
	psid=$(session_of "$parent")
	n=0
	for pid in $(cb_children n1); do
		name=$(cat /proc/$pid/comm)
		sid=$(session_of "$pid")
		echo "$name pid $pid session $sid (parent's $psid)" \
		    "fd0 $(readlink /proc/$pid/fd/0)" \
		    "fd1 $(readlink /proc/$pid/fd/1)" \
		    "fd2 $(readlink /proc/$pid/fd/2)"
		[ "$(readlink /proc/$pid/fd/0)" = /dev/null ] ||
		    atf_fail "$name: stdin is not /dev/null"
		# In the foreground (-d) the children log to our n1.log.
		for fd in 1 2; do
			[ "$(readlink /proc/$pid/fd/$fd)" = "$PWD/n1.log" ] ||
			    atf_fail "$name: fd $fd is not the log"
		done
		[ "$sid" = "$pid" ] || atf_fail "$name: not a session leader"
		[ "$sid" != "$psid" ] || atf_fail "$name: the parent's session"
		n=$((n + 1))
	done
	[ $n = 4 ] || atf_fail "expected 4 children (3 and the engine), found $n"
}
stdio_session_cleanup()
{
	common
	cb_kill n1
}

atf_test_case child_stdio
child_stdio_head()
{
	atf_set descr "a child not in the foreground puts /dev/null on stdout and stderr; with -d it keeps them"
	atf_set require.user root
	atf_set timeout 60
}
child_stdio_body()
{
	common
	cb_user
	mkdir -p empty
	chmod 755 empty
	# cbmeshd by hand: fd 3 a socket, stdout and stderr a file.
	python3 - "$OBJ/cbmeshd" "$PWD/empty" <<'PY' || atf_fail "probe failed"
import os, socket, subprocess, sys, time
prog, chroot = sys.argv[1], sys.argv[2]
def fds(extra):
    a, b = socket.socketpair()
    out = open("out.txt", "w")
    p = subprocess.Popen([prog, "-u", "_cbp2p", "-c", chroot] + extra,
        stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        close_fds=False, preexec_fn=lambda: os.dup2(b.fileno(), 3))
    b.close()
    # Ready once it is sandboxed: its uid is no longer 0.
    for _ in range(100):
        st = open("/proc/%d/status" % p.pid).read()
        uid = [l.split()[1] for l in st.splitlines()
            if l.startswith("Uid:")][0]
        if uid != "0":
            break
        time.sleep(0.1)
    r = [os.readlink("/proc/%d/fd/%d" % (p.pid, fd)) for fd in (0, 1, 2)]
    a.close()
    p.wait(timeout=10)
    out.close()
    return r
bg, fg = fds([]), fds(["-d"])
print("without -d:", bg)
print("with -d:", fg)
log = os.path.abspath("out.txt")
assert bg == ["/dev/null"] * 3, bg
assert fg == ["/dev/null", log, log], fg
PY
}

atf_test_case detached cleanup
detached_head()
{
	atf_set descr "without -d: the children survive logging to syslog from the chroot, with /dev/null on fds 0-2"
	atf_set require.user root
	atf_set timeout 60
}
detached_body()
{
	common
	cb_user
	cb_issuer_keys keys
	cb_wgkeys n1
	cb_claims n1 p2p-mesh 10.99.0.1/24
	cb_token n1 ES256 keys
	cb_config n1 ES256 keys
	cb_ns n1 > n1.ns
	# -v: every child logs right after its filter is loaded.  syslog(3)
	# cannot reach /dev/log from the chroot and asks for a new AF_UNIX
	# socket at each line: that must fail, not kill.
	ip netns exec "$(cat n1.ns)" "$CBP2PD" -v -x "$OBJ" \
	    -f "$PWD/n1.yaml" > n1.log 2>&1 || atf_fail "cbp2pd failed"
	# The parent is the cbp2pd whose parent is not cbp2pd (the engine
	# is cbp2pd too).
	for pid in $(ip netns pids "$(cat n1.ns)"); do
		ppid=$(awk '/^PPid:/ { print $2 }' /proc/$pid/status)
		[ "$(cat /proc/$pid/comm)" = cbp2pd ] &&
		    [ "$(cat /proc/$ppid/comm)" != cbp2pd ] && echo $pid > n1.pid
	done
	[ -s n1.pid ] || atf_fail "no daemon in the namespace"
	cb_wait_ready n1
	parent=$(cat n1.pid)
	psid=$(session_of "$parent")
	# Still there after a status query each child logged about.
	sleep 1
	cb_ctl n1 -j status > st.json || atf_fail "status failed"
	n=0
	for pid in $(cb_children n1); do
		name=$(cat /proc/$pid/comm)
		for fd in 0 1 2; do
			[ "$(readlink /proc/$pid/fd/$fd)" = /dev/null ] ||
			    atf_fail "$name: fd $fd is $(readlink /proc/$pid/fd/$fd)"
		done
		[ "$(session_of "$pid")" = "$pid" ] ||
		    atf_fail "$name: not a session leader"
		[ "$(session_of "$pid")" != "$psid" ] ||
		    atf_fail "$name: the parent's session"
		n=$((n + 1))
	done
	[ $n = 4 ] || atf_fail "expected 4 children (3 and the engine), found $n"
	kill -TERM "$parent"
	cb_wait_exit "$parent" || atf_fail "daemon did not exit"
}
detached_cleanup()
{
	common
	cb_kill n1
}

atf_test_case dumpable cleanup
dumpable_head()
{
	atf_set descr "the parent is not dumpable: root without CAP_SYS_PTRACE cannot look into it"
	atf_set require.user root
	atf_set require.progs setpriv
	atf_set timeout 60
}
dumpable_body()
{
	common
	# The parent and the probes share one capability set without
	# CAP_SYS_PTRACE: then only the dumpable flag decides whether
	# /proc/PID/cwd can be read (ptrace_may_access, PTRACE_MODE_READ).
	nopt="setpriv --bounding-set=-sys_ptrace"
	$nopt sleep 60 &
	control=$!
	# Until setpriv has run sleep, the shell's child has every capability.
	cb_until 5 $nopt readlink /proc/$control/cwd ||
	    atf_fail "the probe cannot read a dumpable process either"
	kill $control
	CB_WRAP=$nopt
	start_node
	parent=$(cat n1.pid)
	grep CapBnd /proc/$parent/status
	$nopt readlink /proc/$parent/cwd &&
	    atf_fail "the parent's /proc/PID/cwd is readable: it is dumpable"
	# The children too: a non-dumpable process's /proc/PID files (not
	# the directory) are root's, a dumpable one's are its user's.
	for pid in $(cb_children n1); do
		[ "$(stat -c %u /proc/$pid/status)" = 0 ] ||
		    atf_fail "$(cat /proc/$pid/comm) is dumpable"
	done
}
dumpable_cleanup()
{
	common
	cb_kill n1
}

atf_init_test_cases()
{
	atf_add_test_case sandbox
	atf_add_test_case stdio_session
	atf_add_test_case child_stdio
	atf_add_test_case detached
	atf_add_test_case dumpable
	atf_add_test_case reload
	atf_add_test_case child_dies
	atf_add_test_case sigterm
	atf_add_test_case control_bad
	atf_add_test_case json_log
	atf_add_test_case check_config
}
