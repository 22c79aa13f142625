# shellcheck shell=bash
# Adds up the TRX files that `dotnet test --logger trx` wrote (one per test assembly), prints one line per test
# project and then the closing line
#   tests: N passed, N failed, N skipped
# Failed counts VSTest's failed, error, timeout and aborted outcomes; skipped counts every other test that did
# not pass (xunit's Skip, not executed, inconclusive), because a test that did not run proves nothing.

# The test that proves TorchSharp's native library loaded (tests/ModelGen.Runtime.Tests/TorchSharpLoadsTests.cs).
MG_TORCHSHARP_CANARY=ModelGen.Runtime.Tests.TorchSharpLoadsTests.Native_library_loads_and_multiplies_on_the_cpu

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

# Prints the test assembly's name (ModelGen.Core.Tests) a TRX file reports on, lower-cased: from a test's
# storage path, or from VSTest's "No test is available in <dll>" when the assembly has no tests.
_mg_trx_assembly() {
  local dll
  # One awk over the file: build.sh runs under pipefail, where a grep that finds nothing would end the script.
  dll=$(awk '
    match($0, /storage="[^"]*"/) { print substr($0, RSTART + 9, RLENGTH - 10); exit }
    match($0, /No test is available in [^ ]*\.dll/) { print substr($0, RSTART + 24, RLENGTH - 24); exit }
  ' "$1")
  dll=${dll##*/}
  printf '%s\n' "${dll%.dll}" | tr '[:upper:]' '[:lower:]'
}

# Prints the names of the test projects in the solution: those under tests/.
_mg_solution_test_projects() {
  sed -n 's/^Project(.*= "[^"]*", "tests[\\/][^"]*[\\/]\([^"\\/]*\)\.csproj".*/\1/p' "$1"
}

# mg_test_summary SOLUTION RESULTS_DIR DOTNET_TEST_EXIT_CODE [SCRIPTS_PASSED SCRIPTS_FAILED]: prints a line per test project and the closing
# line last; returns non-zero when any test failed or was skipped, when no test ran, when a test project wrote no
# results, when the TorchSharp canary did not pass, or when dotnet test itself failed (e.g. a host crashed).
mg_test_summary() {
  local solution=$1 dir=$2 status=$3 passed=${4:-0} failed=${5:-0} skipped=0 files=0 problems=0 file p f s name project
  local seen=' ' projects
  projects=$(_mg_solution_test_projects "$solution")
  [ $# -lt 4 ] || mg_say "  scripts (tests/scripts): $passed passed, $failed failed, 0 skipped"
  for file in "$dir"/*.trx; do
    [ -f "$file" ] || continue
    files=$((files + 1))
    read -r p f s <<EOF2
$(_mg_trx_counts "$file")
EOF2
    p=${p:-0} f=${f:-0} s=${s:-0}
    name=$(_mg_trx_assembly "$file")
    seen="$seen${name:-?} "
    # TRX lower-cases test paths; show the project's own spelling.
    name=$(printf '%s\n' "$projects" | grep -ix -- "$name" || printf '%s' "$name")
    mg_say "  ${name:-$(basename "$file")}: $p passed, $f failed, $s skipped"
    [ $((p + f + s)) -gt 0 ] || mg_say "  warning: ${name:-$(basename "$file")} has no tests"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
  done
  while IFS= read -r project; do
    [ -n "$project" ] || continue
    case "$seen" in
      *" $(printf '%s' "$project" | tr '[:upper:]' '[:lower:]') "*) ;;
      *)
        mg_say "FAILED: $project wrote no test results (its test host may have crashed; see the output above)"
        problems=$((problems + 1))
        ;;
    esac
  done <<EOF2
$projects
EOF2
  if [ "$files" -gt 0 ] && ! grep -q "testName=\"$MG_TORCHSHARP_CANARY\"[^>]*outcome=\"Passed\"" "$dir"/*.trx; then
    mg_say "FAILED: the canary $MG_TORCHSHARP_CANARY did not pass: TorchSharp's native library did not load"
    problems=$((problems + 1))
  fi
  if [ "$files" -eq 0 ]; then
    mg_say "FAILED: no test results were written to $dir"
    problems=$((problems + 1))
  fi
  if [ "$failed" -gt 0 ]; then
    mg_say "FAILED: $failed test(s) failed (results: $dir)"
    problems=$((problems + 1))
  fi
  if [ "$skipped" -gt 0 ]; then
    mg_say "FAILED: $skipped test(s) were skipped; every test must run"
    problems=$((problems + 1))
  fi
  if [ "$files" -gt 0 ] && [ "$passed" -eq 0 ]; then
    mg_say "FAILED: no tests ran in any of the $files test assemblies"
    problems=$((problems + 1))
  fi
  if [ "$status" -ne 0 ]; then
    mg_say "FAILED: dotnet test exited with $status (a test host may have crashed; see the output above)"
    problems=$((problems + 1))
  fi
  # Last, so CI logs end with it.
  printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  [ "$problems" -eq 0 ]
}
