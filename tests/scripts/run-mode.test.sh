#!/usr/bin/env bash
# The run-mode decision (eng/host.sh) never fails at random: 200 times on this host, then 200 times with a fake
# ldconfig whose cache is large enough that any reader which stops early would kill it with SIGPIPE
# (exit 141 under pipefail, as it did in ~10 % of CI runs, and every time once Open MPI was installed).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=eng/common.sh
. "$repo/eng/common.sh"
# shellcheck source=eng/host.sh
. "$repo/eng/host.sh"
mg_report_failures

runs=${MG_RUN_MODE_RUNS:-200}
fail() {
  printf 'run-mode test: %s\n' "$*" >&2
  exit 1
}

unset MODELGEN_RUN
for _ in $(seq "$runs"); do
  mg_decide_run_mode
done
host_mode=$MG_RUN_MODE
[ "$host_mode" = native ] || [ "$host_mode" = chroot ] || fail "host: unexpected mode '$host_mode'"

# A fake ldconfig listing 20,000 libraries with libstdc++ among the first, as on a machine with many packages.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
printf 'GLIBCXX_3.4.30\n' >"$work/old-libstdc++.so.6"
printf 'GLIBCXX_3.4.30 GLIBCXX_3.4.32\n' >"$work/new-libstdc++.so.6"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "\tlibfake%d.so.1 (libc6,x86-64) => /usr/lib/libfake%d.so.1\n", i, i }' \
  >"$work/tail.txt"
for kind in old new; do
  cat >"$work/bin/ldconfig" <<FAKE
#!/bin/sh
printf '%s entries found in cache\n' 20003
printf '\tlibstdc++.so.6 (libc6,x86-64) => %s\n' "$work/$kind-libstdc++.so.6"
printf '\tlibstdc++.so.6 (libc6) => /nonexistent/i386/libstdc++.so.6\n'
cat "$work/tail.txt"
FAKE
  chmod +x "$work/bin/ldconfig"
  expected=chroot
  [ "$kind" = old ] || expected=native
  [ "$(uname -s)" = Linux ] || expected=native
  for _ in $(seq "$runs"); do
    PATH="$work/bin:$PATH" mg_decide_run_mode
    [ "$MG_RUN_MODE" = "$expected" ] || fail "large cache, $kind libstdc++: got '$MG_RUN_MODE' ($MG_RUN_REASON), expected $expected"
  done
done
printf 'run-mode test: %s decisions on the host (%s) and %s with a 20,000-entry ldconfig cache, none failed\n' \
  "$runs" "$host_mode" "$((2 * runs))"
