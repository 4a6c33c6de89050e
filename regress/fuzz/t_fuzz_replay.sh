#! /usr/bin/atf-sh
# Every fuzz target runs over its committed corpus once: an input that
# ever crashed a parser or broke an invariant stays fixed.  One case per
# target, found from the corpus folders, so a new target is a new file
# and a new folder.  `make fuzz' is what searches for new inputs.

replay()
{
	name=$1
	dir=$(atf_get_srcdir)
	bin=$dir/fuzz_$name
	corpus=$dir/corpus/$name
	[ -x "$bin" ] || atf_fail "no $bin: run make all"
	[ -n "$(ls "$corpus")" ] || atf_fail "empty corpus $corpus"
	# -runs=0: run each input once, mutate nothing, write nothing.
	atf_check -s exit:0 -o ignore -e save:err \
	    "$bin" -runs=0 -timeout=60 "$corpus"
	atf_check -o match:'Done [0-9]+ runs' cat err
}

atf_init_test_cases()
{
	for c in "$(atf_get_srcdir)"/corpus/*; do
		[ -d "$c" ] || continue
		n=${c##*/}
		eval "${n}_head() {
			atf_set descr \"fuzz_$n replays corpus/$n without a crash\"
			atf_set timeout 300
		}
		${n}_body() { replay $n; }"
		atf_add_test_case "$n"
	done
}
