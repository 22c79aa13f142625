#!/usr/bin/env bash
# Bus bandwidth of ModelGen's all-reduce against MPI_Allreduce from C (allreduce.c), 2 ranks, 4 KiB to 64 MiB, and the
# overlap DistributedDataParallel gets; prints markdown tables and the load average (docs/distributed.md).
#   benchmarks/ModelGen.Collectives/run.sh [ROUNDS]     (default 3 rounds; each size keeps its best round per program)
# Builds on the host, then measures natively or in the Debian 13 root file system, as ./build.sh test decides.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=eng/common.sh
. "$repo/eng/common.sh"
# shellcheck source=eng/host.sh
. "$repo/eng/host.sh"
mg_report_failures

# shellcheck source=eng/runner.sh
MG_ENG="$repo/eng"
. "$repo/eng/runner.sh"

dotnet build "$repo/benchmarks/ModelGen.Collectives" -c Release >&2
mg_prepare_runner
mg_require_idle before
# The tables are printed only if the machine was still idle at the end.
results=$(mg_run_command "$repo" -- bash "$repo/benchmarks/ModelGen.Collectives/measure.sh" "$@")
mg_require_idle after
printf '%s\n' "$results"
