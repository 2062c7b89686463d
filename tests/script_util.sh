# Helpers for the shell tests (test_install.sh, test_subproject.sh): source
# this file after setting `name` (the test's name, for messages) and `log`
# (a file for the output of quiet commands).

fail() {
	echo "$name: FAIL: $*" >&2
	exit 1
}

run_quiet() {
	# Run a command, showing its output only if it fails.
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "command failed: $*"
	fi
}

check_ok() {
	# $1: a description; the rest: the command to run, which must print OK.
	what=$1
	shift
	out=$("$@" 2>&1) || fail "$what exited with $?: $out"
	case $out in
	OK*) echo "$name: $what: $out" ;;
	*) fail "$what printed '$out', not OK" ;;
	esac
}
