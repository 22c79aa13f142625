# shellcheck shell=bash
# Adds up the TRX files that `dotnet test --logger trx` wrote (one per test assembly) and prints
#   tests: N passed, N failed, N skipped
# Failed counts VSTest's failed, error, timeout and aborted outcomes; skipped counts every other test that did
# not pass (xunit's Skip, not executed, inconclusive), because a test that did not run proves nothing.

# Prints "passed failed skipped" for one TRX file, read from its <Counters .../> element.
_mg_trx_counts() {
  tr '\n' ' ' <"$1" | sed -n 's/.*<Counters \([^>]*\)\/>.*/\1/p' | awk '
    {
      for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        gsub(/"/, "", kv[2])
        count[kv[1]] = kv[2] + 0
      }
      failed = count["failed"] + count["error"] + count["timeout"] + count["aborted"]
      skipped = count["total"] - count["passed"] - failed
      if (skipped < 0) skipped = 0
      print count["passed"], failed, skipped
    }'
}

# mg_test_summary RESULTS_DIR DOTNET_TEST_EXIT_CODE: prints the closing line; returns non-zero when any test
# failed or was skipped, when none ran, or when dotnet test itself failed (e.g. a test host crashed).
mg_test_summary() {
  local dir=$1 status=$2 passed=0 failed=0 skipped=0 files=0 file p f s
  for file in "$dir"/*.trx; do
    [ -f "$file" ] || continue
    files=$((files + 1))
    read -r p f s <<EOF2
$(_mg_trx_counts "$file")
EOF2
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    skipped=$((skipped + ${s:-0}))
  done
  printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  if [ "$files" -eq 0 ]; then
    mg_say "FAILED: no test results were written to $dir"
    return 1
  fi
  if [ "$failed" -gt 0 ]; then
    mg_say "FAILED: $failed test(s) failed (results: $dir)"
    return 1
  fi
  if [ "$skipped" -gt 0 ]; then
    mg_say "FAILED: $skipped test(s) were skipped; every test must run"
    return 1
  fi
  if [ $((passed + failed + skipped)) -eq 0 ]; then
    mg_say "FAILED: no tests ran in any of the $files test assemblies"
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    mg_say "FAILED: dotnet test exited with $status (a test host may have crashed; see the output above)"
    return 1
  fi
  return 0
}
