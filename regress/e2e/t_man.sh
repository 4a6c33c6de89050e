#! /usr/bin/atf-sh
# Every program has a man page beside its source, and each lints clean.

atf_test_case lint
lint_head()
{
	atf_set descr "mandoc -Tlint finds nothing in any man page"
}
lint_body()
{
	top=$(cd "$(atf_get_srcdir)/../.." && pwd)
	for p in cbp2pd cbp2pctl cbdiscod cbmeshd cbrelayd cbedged; do
		[ -f "$top/$p/$p.8" ] || atf_fail "$p has no man page"
	done
	[ -f "$top/cbp2pd/cbp2p-wg.8" ] || atf_fail "cbp2p-wg has no man page"
	[ -f "$top/cbp2pd/cbp2pd.yaml.5" ] || atf_fail "no cbp2pd.yaml(5)"
	[ -f "$top/cbedged/cbedged.yaml.5" ] || atf_fail "no cbedged.yaml(5)"
	for m in "$top"/*/*.[58]; do
		atf_check -s exit:0 -o empty -e empty mandoc -Tlint -Wwarning "$m"
	done
}

atf_init_test_cases()
{
	atf_add_test_case lint
}
