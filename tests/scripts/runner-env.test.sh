#!/usr/bin/env bash
# The caller's MODELGEN_* and DOTNET_* variables reach a command the runner starts where TorchSharp loads: natively they are
# inherited, and in the Debian 13 root file system (whose environment is otherwise clean) the runner passes them on, so
# `MODELGEN_FUZZ_COUNT=10000 ./build.sh test tests/ModelGen.Fuzz` or `DOTNET_EnableAVX512=0 ./build.sh test …` do what they say.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=eng/common.sh
. "$repo/eng/common.sh"
# shellcheck source=eng/host.sh
. "$repo/eng/host.sh"
MG_ENG="$repo/eng"
# shellcheck source=eng/runner.sh
. "$repo/eng/runner.sh"

mg_prepare_runner
seen=$(MODELGEN_ENV_PROBE='two words' DOTNET_EnvProbe=1 mg_run_command "$repo" -- \
  sh -c 'printf "%s|%s|%s" "${MODELGEN_ENV_PROBE:-missing}" "${DOTNET_EnvProbe:-missing}" "${DOTNET_ROOT:+set}"')
[ "$seen" = "two words|1|set" ] || {
  printf 'runner-env test: the command saw "%s" (run mode %s), expected "two words|1|set"\n' "$seen" "$MG_RUN_MODE" >&2
  exit 1
}
printf 'runner-env test: passed (run mode %s)\n' "$MG_RUN_MODE"
