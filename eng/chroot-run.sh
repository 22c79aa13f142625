#!/usr/bin/env bash
# Runs a command inside the Debian 13 root file system, with host directories bind-mounted at their own paths.
# Usage (as root):
#   eng/chroot-run.sh --rootfs DIR [--bind PATH]... [--env NAME=VALUE]... [--user UID:GID] --cwd DIR -- COMMAND...
#
# The mounts are made in a private mount namespace (unshare -m), so they vanish with the command's last
# process and nothing stays mounted on the host, even after a crash. /proc, /sys and /dev are always bound;
# the command gets a clean environment: only the --env values, plus LANG/TERM from the caller.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=eng/common.sh
. "$here/common.sh"
mg_report_failures

rootfs='' cwd='' user=''
binds=(/proc /sys /dev)
envs=()
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --rootfs) rootfs=${2%/}; shift 2 ;;
    --bind) binds+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --user) user=$2; shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    --) shift; break ;;
    *) mg_die "eng/chroot-run.sh: unknown option '$1'" ;;
  esac
done
[ $# -gt 0 ] || mg_die "eng/chroot-run.sh: no command given"
[ -n "$rootfs" ] && [ -n "$cwd" ] || mg_die "eng/chroot-run.sh: --rootfs and --cwd are required"
[ "$(id -u)" -eq 0 ] || mg_die "eng/chroot-run.sh must run as root (unshare, mount, chroot)"
[ -f "$rootfs/.modelgen-rootfs" ] || mg_die "$rootfs is not a finished root file system (run eng/rootfs.sh first)"

if [ "${MG_CHROOT_NAMESPACE:-}" != 1 ]; then
  # Re-run this script inside a new mount namespace, holding the shared lock so that no
  # eng/rootfs.sh --rebuild deletes the tree while the command runs.
  exec flock -s "$rootfs.lock" unshare --mount env MG_CHROOT_NAMESPACE=1 bash "$0" "${args[@]}"
fi

mount --make-rprivate /
# Parents before children, so a bind of /tmp does not hide a repository that lives under /tmp.
sorted=$(printf '%s\n' "${binds[@]}" | awk '{ print length($0) "\t" $0 }' | sort -n -s | cut -f 2-)
while IFS= read -r dir; do
  [ -n "$dir" ] || continue
  [ -d "$dir" ] || mg_die "cannot bind $dir into the root file system: not a directory"
  mkdir -p "$rootfs$dir"
  mount --rbind "$dir" "$rootfs$dir"
done <<<"$sorted"

envs+=("LANG=${LANG:-C.UTF-8}" "TERM=${TERM:-dumb}")
userspec=()
[ -z "$user" ] || userspec=(--userspec="$user")
# ${userspec[@]+...}: bash before 4.4 treats an empty array as unset under set -u.
exec chroot ${userspec[@]+"${userspec[@]}"} "$rootfs" /usr/bin/env -i "${envs[@]}" \
  /bin/sh -c 'cd "$1" || exit 1; shift; exec "$@"' sh "$cwd" "$@"
