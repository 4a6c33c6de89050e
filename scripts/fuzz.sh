#!/bin/sh
# make fuzz: run each fuzz target for a bounded time, one at a time, and
# print the executions each reached.  New inputs go to obj/fuzz/corpus/NAME
# (the committed seeds in regress/fuzz/corpus/NAME are only read); a crash
# leaves its input in obj/fuzz/artifacts/ and makes the run fail at the end.
#
#	scripts/fuzz.sh SECONDS NAME...
set -u

secs=$1
shift
names="$*"
top=$(cd "$(dirname "$0")/.." && pwd)
fz=$top/regress/fuzz
out=$top/obj/fuzz
mkdir -p "$out/artifacts" "$out/logs"

failed=""
printf '%-12s %14s %10s %8s  %s\n' TARGET EXECUTIONS EXEC/S CORPUS RESULT
for name in $names; do
	# The options go in "$@": the names were taken out above.
	bin=$fz/fuzz_$name
	seeds=$fz/corpus/$name
	corpus=$out/corpus/$name
	log=$out/logs/$name.log
	mkdir -p "$corpus"
	set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$out/artifacts/$name-"
	[ -f "$fz/dict/$name.dict" ] && set -- "$@" -dict="$fz/dict/$name.dict"
	[ -f "$fz/options/$name" ] && set -- "$@" $(cat "$fz/options/$name")
	if "$bin" "$@" "$corpus" "$seeds" >"$log" 2>&1; then
		result=ok
	else
		result="CRASH (see $log)"
		failed="$failed $name"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	printf '%-12s %14s %10s %8s  %s\n' "$name" "${execs:-?}" \
	    "${rate:-?}" "$(ls "$corpus" | wc -l)" "$result"
done
if [ -n "$failed" ]; then
	echo "fuzz: crashes in:$failed" >&2
	exit 1
fi
