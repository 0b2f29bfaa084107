#!/usr/bin/env bash
# Runs every test project (already built by setup) and prints one closing line
# "N passed, N failed" over all of them; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/test-results
rm -f build/test-results/*.trx
status=0
for proj in tests/*/*.csproj tests/*/*.fsproj; do
  [ -f "$proj" ] || continue
  name=$(basename "$(dirname "$proj")")
  echo "== $name"
  dotnet test "$proj" -c Release --no-build --nologo -v q \
    --logger "trx;LogFileName=$name.trx" --results-directory build/test-results || status=1
done
passed=0; failed=0
for trx in build/test-results/*.trx; do
  [ -f "$trx" ] || continue
  # <Counters total=".." executed=".." passed=".." failed=".." .../>
  p=$(grep -o 'passed="[0-9]*"' "$trx" | head -1 | grep -o '[0-9]*')
  f=$(grep -o 'failed="[0-9]*"' "$trx" | head -1 | grep -o '[0-9]*')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then status=1; echo "no test ran" >&2; fi
[ "$failed" -gt 0 ] && status=1
echo "$passed passed, $failed failed"
exit $status
