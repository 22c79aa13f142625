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

dotnet build "$repo/benchmarks/ModelGen.Collectives" -c Release >&2
mg_decide_run_mode
if [ "$MG_RUN_MODE" = native ]; then
  exec bash "$repo/benchmarks/ModelGen.Collectives/measure.sh" "$@"
fi
rootfs=${MODELGEN_ROOTFS:-${XDG_CACHE_HOME:-$HOME/.cache}/modelgen/rootfs-trixie}
sdk=$(mg_dotnet_root)
nuget=$(mg_nuget_packages)
mg_as_root "$repo/eng/chroot-run.sh" --rootfs "$rootfs" --bind "$sdk" --bind "$nuget" --bind "$repo" --bind /tmp \
  --env HOME=/root --env "PATH=$sdk:/usr/local/bin:/usr/bin:/bin" --env "DOTNET_ROOT=$sdk" --env "NUGET_PACKAGES=$nuget" \
  --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --env DOTNET_NOLOGO=1 \
  --cwd "$repo" -- bash "$repo/benchmarks/ModelGen.Collectives/measure.sh" "$@"
