#!/usr/bin/env bash
# Makes sure a Debian 13 (trixie) root file system exists at DIR, creating it with debootstrap if needed.
# Usage (as root): eng/rootfs.sh [--rebuild] DIR
#
# Why: TorchSharp needs GLIBCXX_3.4.32, which Debian 12's libstdc++ lacks; trixie's has it. The tests are
# built on the host and only run inside this root file system (see eng/chroot-run.sh).
# A stamp file, written only after debootstrap succeeds, marks a usable tree; a tree without it (an interrupted
# run) or with another recipe is deleted and rebuilt. DIR.lock serialises creators (exclusive lock) against
# running tests (shared lock, taken by eng/chroot-run.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=eng/common.sh
. "$here/common.sh"
mg_report_failures
# shellcheck source=eng/debian-mirror.sh
. "$here/debian-mirror.sh"

MG_SUITE=trixie
# libicu76: .NET globalization; libssl3t64: .NET crypto (NuGet signature checks); ca-certificates: TLS roots.
MG_PACKAGES=libicu76,libssl3t64,ca-certificates
# Installed with apt-get inside the new tree (apt resolves their large dependency trees; debootstrap's --include
# does not always): Open MPI for the distributed runtime's tests (mpirun, libmpi.so.40, mpicc for the C reference
# benchmark), PyTorch with NumPy for the cross-implementation tests, and a font for the tool's charts.
MG_APT_PACKAGES="openmpi-bin libopenmpi-dev gcc libc6-dev python3-torch python3-numpy fonts-dejavu-core"
MG_STAMP_NAME=.modelgen-rootfs
# The recipe is the stamp's first line: changing the suite or packages makes old trees rebuild themselves.
MG_RECIPE="modelgen-rootfs suite=$MG_SUITE variant=minbase include=$MG_PACKAGES apt=${MG_APT_PACKAGES// /,}"

rebuild=0
if [ "${1:-}" = --rebuild ]; then
  rebuild=1
  shift
fi
[ $# -eq 1 ] || mg_die "usage: eng/rootfs.sh [--rebuild] DIR"
[ "$(id -u)" -eq 0 ] || mg_die "eng/rootfs.sh must run as root (debootstrap)"
rootfs=$1
case "$rootfs" in
  /*) ;;
  *) mg_die "the root file system path must be absolute, not '$rootfs'" ;;
esac
rootfs=${rootfs%/}
[ "$rootfs" != "" ] && [ "$rootfs" != / ] || mg_die "refusing to use / as the root file system"

stamp_ok() {
  [ -f "$rootfs/$MG_STAMP_NAME" ] && [ "$(head -n 1 "$rootfs/$MG_STAMP_NAME")" = "$MG_RECIPE" ]
}

# Deleting a tree with something still mounted inside would delete through the mount (the repository, /dev);
# our mounts live in private namespaces, so any mount here means something else is wrong: stop.
remove_rootfs() {
  if awk -v dir="$rootfs" '$5 == dir || index($5, dir "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    mg_die "something is mounted under $rootfs; unmount it first (findmnt -R $rootfs)"
  fi
  rm -rf --one-file-system "$rootfs"
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return
  command -v apt-get >/dev/null 2>&1 || mg_die "debootstrap is missing and there is no apt-get to install it"
  mg_say "installing debootstrap with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

mkdir -p "$(dirname "$rootfs")"
exec 9>"$rootfs.lock"
if ! flock -n 9; then
  mg_say "waiting for another build.sh to finish with $rootfs"
  flock 9
fi

if [ "$rebuild" -eq 0 ] && stamp_ok; then
  exit 0
fi
if [ -e "$rootfs" ]; then
  if [ "$rebuild" -eq 1 ]; then
    mg_say "deleting $rootfs to rebuild it"
  else
    mg_say "$rootfs is incomplete or from another recipe; deleting it"
  fi
  remove_rootfs
fi

ensure_debootstrap
mirror=$(mg_debian_mirror)
mg_say "creating the Debian 13 root file system at $rootfs from $mirror (1 to 3 minutes)"
log="$rootfs.debootstrap.log"
mkdir -p "$rootfs"
started=$(date +%s)
if ! debootstrap --variant=minbase --include="$MG_PACKAGES" "$MG_SUITE" "$rootfs" "$mirror" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  mg_die "debootstrap failed (full log: $log); the next run deletes the partial tree and tries again"
fi
mg_say "installing $MG_APT_PACKAGES in the root file system"
# In a private mount namespace, as eng/chroot-run.sh does, so the package scripts see /proc, /sys and /dev
# and nothing stays mounted on the host.
if ! unshare --mount /bin/sh -c '
  set -e
  mount --make-rprivate /
  for dir in /proc /sys /dev; do mount --rbind "$dir" "$1$dir"; done
  cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
  chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    /bin/sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $2 && apt-get clean"
' sh "$rootfs" "$MG_APT_PACKAGES" >>"$log" 2>&1; then
  tail -n 20 "$log" >&2
  mg_die "installing packages in the root file system failed (full log: $log); the next run deletes the partial tree and tries again"
fi
printf '%s\ncreated=%s\n' "$MG_RECIPE" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$rootfs/$MG_STAMP_NAME"
rm -f "$log"
mg_say "root file system ready in $(($(date +%s) - started)) s"
