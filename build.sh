#!/usr/bin/env bash
# ModelGen's one entry point for building, testing, running the sample and packing.
#
#   ./build.sh test     build everything, run every test (in a Debian 13 root file system where TorchSharp
#                       cannot load natively, e.g. Debian 12), print "tests: N passed, N failed, N skipped"
#   ./build.sh test PROJECT [ARGS…]   build one test project and run it there, ARGS going to `dotnet test`
#   ./build.sh sample   build samples/Llama (showing its compile-time diagnostics) and run it
#   ./build.sh pack     create the ModelGen NuGet package in artifacts/packages
#   ./build.sh build    build the solution (Release)
#   ./build.sh rootfs [--rebuild]   create (or recreate) the Debian 13 root file system only
#   ./build.sh run [--ranks N] PROJECT [ARGS…]   build a project (Release) and run it where TorchSharp loads (e.g. the
#                       measured runs: ./build.sh run benchmarks/ModelGen.MemoryCheck all); --ranks N: under mpirun on N ranks
#
# Environment: MODELGEN_ROOTFS (where the root file system is cached), MODELGEN_RUN=native|chroot (override
# the automatic choice), MODELGEN_DEBIAN_MIRROR (mirror for debootstrap; default: the host's apt sources).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=eng/common.sh
. "$repo/eng/common.sh"
# shellcheck source=eng/host.sh
. "$repo/eng/host.sh"
# shellcheck source=eng/test-results.sh
. "$repo/eng/test-results.sh"
MG_ENG="$repo/eng"
# shellcheck source=eng/runner.sh
. "$repo/eng/runner.sh"
mg_report_failures

configuration=Release
solution="$repo/ModelGen.sln"
sample="$repo/samples/Llama/Llama.csproj"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  sed -n '2,16s/^# \{0,1\}//p' "$repo/build.sh"
}

# Runs dotnet with the given arguments from the repository root, natively or inside the root file system.
run_dotnet() {
  mg_run_dotnet "$repo" -- "$@"
}

prepare_runner() {
  mg_prepare_runner
}

build_solution() {
  mg_say "building $(basename "$solution") ($configuration)"
  dotnet build "$solution" -c "$configuration"
}

cmd_test() {
  mg_require_dotnet
  if [ $# -gt 0 ]; then
    cmd_test_project "$@"
    return
  fi
  prepare_runner
  build_solution
  local results="$repo/artifacts/test-results" status=0 scripts
  rm -rf "$results"
  mkdir -p "$results"
  scripts=$(run_script_tests)
  mg_say "running the tests"
  run_dotnet test "$solution" -c "$configuration" --no-build --logger trx --results-directory "$results" || status=$?
  # shellcheck disable=SC2086 # "passed failed": two numbers
  mg_test_summary "$solution" "$results" "$status" $scripts || exit 1
}

# ./build.sh test PROJECT [ARGS…]: builds one test project and runs it where TorchSharp loads, passing ARGS to
# `dotnet test` (e.g. --filter "FullyQualifiedName~CheckpointTests"). For working on one area; CI runs everything.
cmd_test_project() {
  local project=$1
  shift
  [ -e "$project" ] || mg_die "no such test project: $project"
  prepare_runner
  dotnet build "$project" -c "$configuration"
  run_dotnet test "$project" -c "$configuration" --no-build "$@"
}

# Runs the scripts' own tests (tests/scripts/*.test.sh) on the host, where build.sh itself runs; prints
# "passed failed" for the summary.
run_script_tests() {
  local test passed=0 failed=0
  for test in "$repo"/tests/scripts/*.test.sh; do
    [ -f "$test" ] || continue
    mg_say "running the script test ${test#"$repo"/}"
    if bash "$test" >&2; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      mg_say "FAILED: script test ${test#"$repo"/}"
    fi
  done
  printf '%d %d\n' "$passed" "$failed"
}

cmd_sample() {
  mg_require_dotnet
  [ -f "$sample" ] || mg_die "the sample project is missing: $sample"
  prepare_runner
  mg_say "building the sample and what it references"
  dotnet build "$sample" -c "$configuration"
  # An up-to-date project skips the compiler and with it the analyzers' warnings; recompile the sample
  # alone so its diagnostics (MG0001 ...) are printed every time.
  mg_say "recompiling the sample to show its compile-time diagnostics"
  dotnet build "$sample" -c "$configuration" --no-dependencies --no-incremental
  local target
  target=$(dotnet msbuild "$sample" -getProperty:TargetPath -p:Configuration="$configuration")
  [ -f "$target" ] || mg_die "the sample's build output is missing: $target"
  mg_say "running the sample"
  run_dotnet "$target"
  mg_say "running the sample again on 2 ranks: mpirun -np 2 dotnet $(basename "$target") (data parallel, ZeRO stage 1)"
  mg_run_mpi "$repo" 2 -- "$target"
}

cmd_run() {
  mg_require_dotnet
  mg_parse_ranks "$@"
  [ -z "${MG_RANKS:-}" ] || shift 2
  [ $# -ge 1 ] || mg_die "usage: ./build.sh run [--ranks N] PROJECT [ARGS...]"
  mg_run_project "$@"
}

cmd_pack() {
  mg_require_dotnet
  local out="$repo/artifacts/packages"
  dotnet pack "$repo/src/Runtime/ModelGen.Runtime.csproj" -c "$configuration" -o "$out"
  mg_say "packages in $out:"
  ls -1 "$out"/*.nupkg >&2
}

cmd_build() {
  mg_require_dotnet
  build_solution
}

cmd_rootfs() {
  case "${1:-}" in
    '') mg_ensure_rootfs ;;
    --rebuild) mg_ensure_rootfs --rebuild ;;
    *) mg_die "usage: ./build.sh rootfs [--rebuild]" ;;
  esac
  mg_say "root file system ready at $MG_ROOTFS"
}

command=${1:-}
[ $# -eq 0 ] || shift
case "$command" in
  test) cmd_test "$@" ;;
  sample) cmd_sample "$@" ;;
  pack) cmd_pack "$@" ;;
  build) cmd_build "$@" ;;
  rootfs) cmd_rootfs "$@" ;;
  run) cmd_run "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac
