#!/usr/bin/env bash
# Builds a .NET project and runs it where TorchSharp 0.107's native library loads, for a project at any path.
# The ModelGen package ships this script under tools/linux/; no clone of the ModelGen repository is needed:
#
#   bash ~/.nuget/packages/modelgen/<version>/tools/linux/modelgen-run.sh [--ranks N] path/to/MyModel.csproj [ARGS...]
#
# --ranks N runs it under mpirun on N ranks (Open MPI: in the root file system, or `apt-get install openmpi-bin` natively).
#
# On a host whose libstdc++ has GLIBCXX_3.4.32 (Debian 13, Ubuntu 24.04 and newer) it builds and runs natively.
# On an older one (Debian 12, Ubuntu 22.04) it builds on the host and runs the program inside a Debian 13 root file
# system that it creates on first use (needs root or sudo; cached in ~/.cache/modelgen/rootfs-trixie). The program
# runs in the current directory; the project's folder, the current one, /tmp and the folders in MODELGEN_BIND
# (separated by ':') are visible to it at their own paths. Environment: as for build.sh (MODELGEN_ROOTFS,
# MODELGEN_RUN=native|chroot, MODELGEN_DEBIAN_MIRROR).
set -euo pipefail

MG_ENG=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export MG_SAY_PREFIX=modelgen-run
# shellcheck source=eng/common.sh
. "$MG_ENG/common.sh"
# shellcheck source=eng/host.sh
. "$MG_ENG/host.sh"
# shellcheck source=eng/runner.sh
. "$MG_ENG/runner.sh"
mg_report_failures
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

case "${1:-}" in
  '' | -h | --help)
    sed -n '2,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    [ $# -gt 0 ] || exit 2
    exit 0
    ;;
esac
mg_require_dotnet
mg_parse_ranks "$@"
[ -z "${MG_RANKS:-}" ] || shift 2
[ $# -ge 1 ] || mg_die "usage: modelgen-run.sh [--ranks N] PROJECT [ARGS...]"
mg_run_project "$@"
