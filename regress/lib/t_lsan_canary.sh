#! /usr/bin/atf-sh
# The canary for leak checking: lsan_canary is built like every sanitized
# unit test (same flags, lsan_atf.h forced in) and one of its cases leaks
# 200 bytes in its body.  Suppressions narrow enough to let libatf's own
# leaks through on "-l" must still let that leak fail the run.

canary()
{
	CANARY=$(atf_get_srcdir)/lsan_canary
	[ -x "$CANARY" ] || atf_fail "no $CANARY: run make all"
}

atf_test_case listing
listing_head()
{
	atf_set descr "the canary lists its cases with nothing on stderr," \
	    "as kyua requires, so libatf's own leaks are suppressed"
}
listing_body()
{
	canary
	atf_check -s exit:0 -o save:list -e empty "$CANARY" -l
	atf_check -o match:'^ident: leaks$' cat list
	atf_check -o match:'^ident: clean$' cat list
}

atf_test_case leak_fails
leak_fails_head()
{
	atf_set descr "a 200-byte leak in a test body fails the sanitized" \
	    "run with a LeakSanitizer report that names it"
}
leak_fails_body()
{
	canary
	atf_check -s not-exit:0 -o ignore -e save:err \
	    "$CANARY" -r result leaks
	atf_check -o match:'ERROR: LeakSanitizer: detected memory leaks' \
	    cat err
	atf_check -o match:'Direct leak of 200 byte\(s\) in 1 object\(s\)' \
	    cat err
	atf_check -o match:'in leak_200_bytes .*lsan_canary\.c' cat err
	# The one leak is ours: nothing of libatf's is reported.
	atf_check -o match:'SUMMARY: AddressSanitizer: 200 byte\(s\) leaked in 1 allocation\(s\)' \
	    cat err
}

atf_test_case clean_passes
clean_passes_head()
{
	atf_set descr "the same program's case that frees what it takes" \
	    "passes: the failure above is the leak's, nothing else's"
}
clean_passes_body()
{
	canary
	atf_check -s exit:0 -o ignore -e not-match:'Sanitizer' \
	    "$CANARY" -r result clean
	atf_check -o inline:'passed\n' cat result
}

atf_test_case under_kyua
under_kyua_head()
{
	atf_set descr "run by kyua as CI runs it, the leaking case is not" \
	    "counted as passed and the clean one is"
	atf_set require.progs "kyua"
}
under_kyua_body()
{
	canary
	mkdir t
	cp "$CANARY" t/lsan_canary
	printf 'syntax(2)\ntest_suite("canary")\natf_test_program{name="lsan_canary"}\n' \
	    > t/Kyuafile
	atf_check -s not-exit:0 -o save:out -e ignore \
	    kyua test --kyuafile t/Kyuafile --results-file "$PWD/r.db"
	atf_check -o match:'lsan_canary:clean  ->  passed' cat out
	atf_check -o match:'lsan_canary:leaks  ->  (broken|failed)' cat out
	atf_check -s ignore -o save:report -e ignore kyua report \
	    --results-file "$PWD/r.db" --verbose
	atf_check -o match:'Direct leak of 200 byte' cat report
}

atf_init_test_cases()
{
	atf_add_test_case listing
	atf_add_test_case leak_fails
	atf_add_test_case clean_passes
	atf_add_test_case under_kyua
}
