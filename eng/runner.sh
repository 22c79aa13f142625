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

# mg_run_dotnet CWD [--bind DIR]... -- ARGS...: runs `dotnet ARGS` in CWD, natively or inside the root file system.
# CWD and every --bind directory appear at their own paths in there, beside the .NET SDK, the NuGet packages folder
# and /tmp; MODELGEN_BIND (directories separated by ':') adds more. Only running happens in there: restoring needs the
# network and the host's NuGet configuration, so every build happens on the host first.
mg_run_dotnet() {
  local cwd=$1 binds=() dir
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --bind) binds+=(--bind "$2"); shift 2 ;;
      --) shift; break ;;
      *) mg_die "mg_run_dotnet: unknown option '$1'" ;;
    esac
  done
  if [ "$MG_RUN_MODE" = native ]; then
    (cd "$cwd" && dotnet "$@")
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
  mg_as_root bash "$MG_ENG/chroot-run.sh" --rootfs "$MG_ROOTFS" \
    --bind "$sdk" --bind "$nuget" --bind "$cwd" --bind /tmp ${binds[@]+"${binds[@]}"} \
    --env "HOME=$home" \
    --env "PATH=$sdk:/usr/local/bin:/usr/bin:/bin" \
    --env "DOTNET_ROOT=$sdk" \
    --env "NUGET_PACKAGES=$nuget" \
    --env DOTNET_CLI_TELEMETRY_OPTOUT=1 --env DOTNET_NOLOGO=1 \
    --env MSBUILDDISABLENODEREUSE=1 --env UseSharedCompilation=false \
    ${user[@]+"${user[@]}"} --cwd "$cwd" -- dotnet "$@"
}

# mg_run_project PROJECT [ARGS...]: builds PROJECT (Release) on the host and runs its output with ARGS from the
# current directory, binding the project's folder and the current one.
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
  mg_run_dotnet "$(pwd -P)" --bind "$project_dir" --bind "$(dirname "$target")" -- "$target" "$@"
}
