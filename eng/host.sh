# shellcheck shell=bash
# Decides whether TorchSharp can load on this host or the tests must run in the Debian 13 root file system.
#
# TorchSharp 0.107.0's libLibTorchSharp.so needs the symbol version GLIBCXX_3.4.32 (libstdc++ from GCC 13+).
# Debian 12 and Ubuntu 22.04 ship 3.4.30, so there the native library cannot load; Debian 13, Ubuntu 24.04+,
# macOS and Windows are fine. Sets MG_RUN_MODE (native|chroot) and MG_RUN_REASON.

MG_REQUIRED_GLIBCXX=GLIBCXX_3.4.32

# Path of the libstdc++.so.6 the dynamic loader would pick for this machine's architecture.
mg_system_libstdcxx() {
  local ldconfig tag
  ldconfig=$(command -v ldconfig 2>/dev/null || true)
  [ -n "$ldconfig" ] || [ ! -x /sbin/ldconfig ] || ldconfig=/sbin/ldconfig
  [ -n "$ldconfig" ] || return 0
  case "$(uname -m)" in
    x86_64) tag='x86-64' ;;
    aarch64) tag='AArch64' ;;
    *) tag='' ;;
  esac
  # awk reads the whole listing and prints at the end: an early `exit` would close the pipe while ldconfig is still
  # writing, ldconfig would die of SIGPIPE, and under `set -o pipefail` the whole pipeline would fail with 141
  # (every time on a machine with many libraries). The listing goes through a variable, so nothing is piped at all.
  local listing
  listing=$("$ldconfig" -p 2>/dev/null) || listing=''
  awk -v tag="$tag" '
    !found && $1 == "libstdc++.so.6" && (tag == "" || index($0, tag) > 0) { found = $NF }
    END { if (found != "") print found }
  ' <<<"$listing"
}

mg_decide_run_mode() {
  case "${MODELGEN_RUN:-}" in
    native | chroot)
      MG_RUN_MODE=$MODELGEN_RUN
      MG_RUN_REASON="forced by MODELGEN_RUN=$MODELGEN_RUN"
      return
      ;;
    '') ;;
    *) mg_die "MODELGEN_RUN must be 'native' or 'chroot', not '$MODELGEN_RUN'" ;;
  esac
  if [ "$(uname -s)" != Linux ]; then
    MG_RUN_MODE=native
    MG_RUN_REASON="$(uname -s) host: TorchSharp's native library loads directly"
    return
  fi
  local lib
  lib=$(mg_system_libstdcxx)
  if [ -z "$lib" ]; then
    MG_RUN_MODE=chroot
    MG_RUN_REASON="ldconfig lists no libstdc++.so.6, so TorchSharp cannot load here"
  elif grep -qa "$MG_REQUIRED_GLIBCXX" "$lib"; then
    MG_RUN_MODE=native
    MG_RUN_REASON="$lib has $MG_REQUIRED_GLIBCXX, which TorchSharp needs"
  else
    MG_RUN_MODE=chroot
    MG_RUN_REASON="$lib lacks $MG_REQUIRED_GLIBCXX (TorchSharp needs GCC 13's libstdc++)"
  fi
}
