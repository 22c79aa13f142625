#!/usr/bin/env bash
# Tensor-parallel step time at degree 1 and 2 (the worker's "bench" case, or the case given as $1, e.g. generated-bench for the
# generated TpLlama), one intra-op thread per rank, inside the Debian 13
# root file system that ./build.sh uses. Build first: dotnet build tools/ModelGen.Parallel.Worker -c Release.
# Prints the load average before and after: a figure taken with a load average above 2 is not a result.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$repo/eng/common.sh"
. "$repo/eng/runner.sh"
sdk=$(mg_dotnet_root)
nuget=$(mg_nuget_packages)
worker=$repo/tools/ModelGen.Parallel.Worker/bin/Release/net10.0/ModelGen.Parallel.Worker.dll
[ -f "$worker" ] || mg_die "build the worker first: dotnet build tools/ModelGen.Parallel.Worker -c Release"
uptime
for np in 1 2; do
  mg_as_root bash "$repo/eng/chroot-run.sh" --rootfs "$MG_ROOTFS" --bind "$sdk" --bind "$nuget" --bind "$repo" --bind /tmp \
    --env HOME=/root --env "PATH=$sdk:/usr/local/bin:/usr/bin:/bin" --env "DOTNET_ROOT=$sdk" --env DOTNET_NOLOGO=1 --env TERM=dumb \
    --cwd "$repo" -- mpirun --allow-run-as-root --oversubscribe --mca btl_tcp_if_include lo -np "$np" dotnet "$worker" "${1:-bench}"
done
uptime
