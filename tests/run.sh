#!/usr/bin/env bash
# The one test harness: unit tests (C, TAP), integration tests (Perl, TAP)
# against real PostgreSQL clusters, the daemon and the LINE simulator, run
# under prove three times:
#   1. the normal build;
#   2. everything rebuilt with AddressSanitizer + UndefinedBehaviorSanitizer
#      (a leak or undefined behaviour fails the test that saw it);
#   3. the daemon under valgrind on the integration path (a definite or
#      indirect leak makes its exit status non-zero, which the tests check).
# `tests/run.sh --plain|--asan|--valgrind` runs only one of them.
set -euo pipefail
cd "$(dirname "$0")/.."

plain() {
	echo "== tests: normal build"
	prove --timer --exec '' build/tests/test_* tests/integration/*.t
}

asan() {
	echo "== tests: ASan + UBSan build"
	make --no-print-directory -s BUILD=build-asan BIN=bin-asan CFLAGS='-O1 -g' \
		SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
		all >/dev/null
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	MADOGUCHI_BIN_DIR=bin-asan \
		prove --timer --exec '' build-asan/tests/test_* tests/integration/*.t
}

valgrind_run() {
	echo "== tests: madoguchid under valgrind"
	MADOGUCHI_WRAP="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99" \
		prove --timer --exec '' tests/integration/[0-9]*.t
}

case "${1:-all}" in
--plain) plain ;;
--asan) asan ;;
--valgrind) valgrind_run ;;
all) plain && asan && valgrind_run ;;
*) echo "usage: tests/run.sh [--plain|--asan|--valgrind]" >&2; exit 2 ;;
esac
