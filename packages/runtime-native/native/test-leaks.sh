#!/usr/bin/env bash
# Leak check of the runtime's native code, run by `npm run test:leaks`.
#
# The addon runs inside Node under valgrind (definite leaks fail the run). The helper cannot run
# under valgrind, which does not follow its clone3 with namespace flags or its fexecve from a
# memfd, so it is built with LeakSanitizer instead and every helper process (the short-lived
# creator and each monitor) reports leaks into a log directory at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

lsan_build="$PWD/build/lsan"
make -s -C native BUILD="$lsan_build" HELPER_LDFLAGS= CFLAGS="-O1 -g -fsanitize=leak -fno-omit-frame-pointer" "$lsan_build/berth-runtime-helper"

logs=$(mktemp -d /tmp/berth-leaks-XXXXXX)
trap 'rm -rf "$logs"' EXIT
export BERTH_RUNTIME_HELPER="$lsan_build/berth-runtime-helper"
export LSAN_OPTIONS="log_path=$logs/lsan"

status=0
# V8 scans the stack conservatively during garbage collection and so reads uninitialised stack
# slots; valgrind reports each such read. This check is about leaks and invalid accesses, so
# uninitialised-value tracking is off.
valgrind --quiet --leak-check=full --undef-value-errors=no --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --error-exitcode=99 --log-file="$logs/valgrind.log" \
  node ../../node_modules/mocha/bin/mocha.js --no-config --exit --timeout 300000 \
  dist/runtime/lifecycle.test.js dist/runtime/isolation.test.js dist/runtime/hardening.test.js \
  dist/images/gunzip.test.js || status=$?

if [ "$status" -eq 99 ]; then
  echo "valgrind reported definite leaks or invalid memory accesses in the Node process running the addon:" >&2
  cat "$logs/valgrind.log" >&2
  exit 1
elif [ "$status" -ne 0 ]; then
  echo "the addon tests failed under valgrind (exit $status); valgrind log:" >&2
  cat "$logs/valgrind.log" >&2
  exit 1
fi
if compgen -G "$logs/lsan.*" > /dev/null; then
  echo "LeakSanitizer reported leaks in berth-runtime-helper:" >&2
  cat "$logs"/lsan.* >&2
  exit 1
fi
echo "no leaks: valgrind (addon in Node) and LeakSanitizer (helper and monitors) reported none"
