#!/usr/bin/env bash
# scripts/digitnet-mpirun as a newcomer meets it: more ranks than cores (and as root, where the
# tests run as root) just work; when the ranks cannot start, the last line says why.
#   mpirun_helper_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
helper="$1/scripts/digitnet-mpirun"
export PATH="$2:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
expect() {  # expect NAME STATUS LAST-LINE-PATTERN -- command...
  local name=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local last
  last=$(tail -1 "$tmp/err")
  if [[ $got != "$want" ]] || ! grep -qE -- "$pattern" <<<"$last"; then
    echo "FAILED $name: status $got (wanted $want), last line: $last"
    sed 's/^/    /' "$tmp/err" | tail -5
    failed=1
  else
    echo "ok $name"
  fi
}
cores=$(nproc)
expect "more ranks than cores" 0 '.*' -- "$helper" -np $((cores + 1)) digitnet train --data digits --preset digits-relu-32 --epochs 2
grep -q "test accuracy" "$tmp/out" || { echo "FAILED: no test accuracy line"; failed=1; }
expect "digitnet's own error" 1 "^digitnet: error: --data: '/nonexistent' is neither" -- "$helper" -np 2 digitnet train --data /nonexistent
expect "no such program" 1 "^digitnet-mpirun: error: 'no-such-program' is not a program on PATH" -- "$helper" -np 2 no-such-program
cp /bin/true "$tmp/digitnet"
expect "built without MPI" 1 "^digitnet-mpirun: error: .* was built without MPI" -- "$helper" -np 2 "$tmp/digitnet" --version
expect "too few slots" 1 "^digitnet-mpirun: error: mpirun found fewer slots" -- "$helper" -np 2 --host localhost:1 digitnet --version
expect "no process count" 1 "^digitnet-mpirun: error: give the number of processes" -- "$helper" digitnet --version
exit $failed
