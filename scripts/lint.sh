#!/usr/bin/env bash
# The code's style and static checks:
#   bash scripts/lint.sh            clang-format (every C++ file) and clang-tidy (src/, apps/; .clang-tidy)
#   bash scripts/lint.sh --format   clang-format only (seconds; CI runs this)
# clang-tidy reads build/compile_commands.json, which the configure step below writes (each of the
# command line's files on its own: the unity build would hide them from it).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror
echo "lint: clang-format: every file is formatted"
[[ "${1:-}" == "--format" ]] && exit 0
cmake -S . -B build -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DDIGITNET_CLI_UNITY=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null  # the CLI includes a generated file
run-clang-tidy -quiet -p build -j "$(nproc)" "$PWD/(src|apps)/" >build/clang-tidy.log 2>&1 ||
  { grep -E "(error|warning):" build/clang-tidy.log | sort -u; exit 1; }
echo "lint: clang-tidy: no finding in src/ and apps/"
