# shellcheck shell=bash
# Runs .NET programs where TorchSharp's native library loads: natively on a new enough host, otherwise inside the
# Debian 13 root file system (created on first use). Sourced by build.sh and by modelgen-run.sh, the runner the
# package ships for projects outside this repository. Needs eng/common.sh and eng/host.sh sourced first, and
# MG_ENG set to the folder holding these scripts.

# Where the root file system is cached, shared by every clone and every project on the machine.
MG_ROOTFS=${MODELGEN_ROOTFS:-${XDG_CACHE_HOME:-$HOME/.cache}/modelgen/rootfs-trixie}

# Prints which way TorchSharp code will run and why, and prepares the root file system when needed.
mg_prepare_runner() {
  mg_decide_run_mode
  if [ "$MG_RUN_MODE" = native ]; then
    mg_say "running natively: $MG_RUN_REASON"
  else
    mg_say "running in the Debian 13 root file system at $MG_ROOTFS: $MG_RUN_REASON"
    mg_ensure_rootfs
  fi
}

mg_ensure_rootfs() {
  [ "$(uname -s)" = Linux ] || mg_die "the Debian 13 root file system needs a Linux host"
  case "$MG_ROOTFS" in
    /*) ;;
    *) MG_ROOTFS="$(pwd -P)/$MG_ROOTFS" ;;
  esac
  mg_as_root bash "$MG_ENG/rootfs.sh" "$@" "$MG_ROOTFS"
}

# mg_run_dotnet CWD [--bind DIR]... -- ARGS...: runs `dotnet ARGS` (see mg_run_command).
mg_run_dotnet() {
  local cwd=$1 options=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    options+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  mg_run_command "$cwd" ${options[@]+"${options[@]}"} -- dotnet "$@"
}

# mg_run_command CWD [--bind DIR]... -- COMMAND...: runs COMMAND in CWD, natively or inside the root file system.
# CWD and every --bind directory appear at their own paths in there, beside the .NET SDK, the NuGet packages folder
# and /tmp; MODELGEN_BIND (directories separated by ':') adds more. Only running happens in there: restoring needs the
# network and the host's NuGet configuration, so every build happens on the host first.
mg_run_command() {
  local cwd=$1 binds=() dir
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --bind) binds+=(--bind "$2"); shift 2 ;;
      --) shift; break ;;
      *) mg_die "mg_run_command: unknown option '$1'" ;;
    esac
  done
  if [ "$MG_RUN_MODE" = native ]; then
    (cd "$cwd" && "$@")
    return
  fi
  local sdk nuget home user=()
  sdk=$(mg_dotnet_root)
  nuget=$(mg_nuget_packages)
  if [ "$(id -u)" -eq 0 ]; then
    home=/root
  else
    # Through sudo the command runs as the calling user, so what it writes (test results, temp files) is theirs.
    home=/tmp/modelgen-home-$(id -u)
    mkdir -p "$home"
    user=(--user "$(id -u):$(id -g)")
  fi
  if [ -n "${MODELGEN_BIND:-}" ]; then
    local IFS=:
    for dir in $MODELGEN_BIND; do
      [ -z "$dir" ] || binds+=(--bind "$dir")
    done
    unset IFS
  fi
  # The caller's MODELGEN_* and DOTNET_* settings reach the command, as they would natively (MODELGEN_FUZZ_COUNT,
  # MODELGEN_APPROVE, DOTNET_EnableAVX512=0, …); the runner's own values below come later and win.
  local name passed=()
  for name in $(compgen -e); do
    case "$name" in
      MODELGEN_*|DOTNET_*) [ "$name" = DOTNET_ROOT ] || passed+=(--env "$name=${!name}") ;;
    esac
  done
  mg_as_root bash "$MG_ENG/chroot-run.sh" --rootfs "$MG_ROOTFS" \
    --bind "$sdk" --bind "$nuget" --bind "$cwd" --bind /tmp ${binds[@]+"${binds[@]}"} \
    ${passed[@]+"${passed[@]}"} \
    --env "HOME=$home" \
    --env "PATH=$sdk:/usr/local/bin:/usr/bin:/bin" \
    --env "DOTNET_ROOT=$sdk" \
    --env "NUGET_PACKAGES=$nuget" \
    --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --env DOTNET_NOLOGO=1 \
    --env MSBUILDDISABLENODEREUSE=1 --env UseSharedCompilation=false --env DOTNET_CLI_USE_MSBUILD_SERVER=0 \
    ${user[@]+"${user[@]}"} --cwd "$cwd" -- "$@"
}

# The options every mpirun of ours takes: root is allowed (CI and the root file system run as root), more ranks than cores,
# and TCP on the loopback interface (Open MPI's TCP transport skips loopback by default and then finds no route).
MG_MPIRUN_OPTIONS=(--allow-run-as-root --oversubscribe --mca btl_tcp_if_include lo)

# mg_run_mpi CWD RANKS -- ARGS...: runs `mpirun -np RANKS dotnet ARGS` where TorchSharp loads.
mg_run_mpi() {
  local cwd=$1 ranks=$2
  shift 2
  [ "${1:-}" != -- ] || shift
  if [ "$MG_RUN_MODE" = native ] && ! command -v mpirun >/dev/null 2>&1; then
    mg_die "mpirun is not installed: install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) to run on $ranks ranks"
  fi
  mg_run_command "$cwd" -- mpirun "${MG_MPIRUN_OPTIONS[@]}" -np "$ranks" dotnet "$@"
}

# mg_run_project PROJECT [ARGS...]: builds PROJECT (Release) on the host and runs its output with ARGS from the
# current directory, binding the project's folder and the current one; on MG_RANKS ranks under mpirun when that is set.
mg_run_project() {
  local project=$1 target project_dir
  shift
  [ -e "$project" ] || mg_die "no such project: $project"
  mg_prepare_runner
  dotnet build "$project" -c Release
  target=$(dotnet msbuild "$project" -getProperty:TargetPath -p:Configuration=Release)
  [ -f "$target" ] || mg_die "the project's build output is missing: $target"
  project_dir=$(cd "$(dirname "$project")" && pwd -P)
  [ -d "$project" ] && project_dir=$(cd "$project" && pwd -P)
  if [ -n "${MG_RANKS:-}" ]; then
    MODELGEN_BIND="${MODELGEN_BIND:-}:$project_dir:$(dirname "$target")" mg_run_mpi "$(pwd -P)" "$MG_RANKS" -- "$target" "$@"
  else
    mg_run_dotnet "$(pwd -P)" --bind "$project_dir" --bind "$(dirname "$target")" -- "$target" "$@"
  fi
}

# Reads a leading `--ranks N` from the arguments of a run command into MG_RANKS; prints how many arguments it took (0 or 2).
mg_parse_ranks() {
  if [ "${1:-}" = --ranks ]; then
    case "${2:-}" in
      '' | *[!0-9]* | 0) mg_die "--ranks takes a positive number of MPI ranks, not '${2:-}'" ;;
    esac
    MG_RANKS=$2
  fi
}
