# shellcheck shell=bash
# Helpers shared by build.sh and the eng/ scripts: messages, failing, running as root.
# Kept to bash 3.2 features because macOS ships that bash and runs build.sh natively.

# One prefix for every line we print, so our lines stand out among dotnet's.
mg_say() { printf '%s: %s\n' "${MG_SAY_PREFIX:-build.sh}" "$*" >&2; }

mg_die() {
  printf '%s: error: %s\n' "${MG_SAY_PREFIX:-build.sh}" "$*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, through sudo when it exists,
# otherwise fails with what the user can do about it.
mg_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -- "$@"
  else
    mg_die "this step needs root (debootstrap, mount, chroot) and sudo is not installed; run as root or install sudo"
  fi
}

mg_require_dotnet() {
  command -v dotnet >/dev/null 2>&1 \
    || mg_die "dotnet is not on PATH; install the .NET 10 SDK (see global.json) and try again"
}

# The directory holding the dotnet muxer and its sdk/, shared/, packs/ folders (followed through symlinks,
# e.g. /usr/bin/dotnet -> /usr/share/dotnet/dotnet), so it can be bind-mounted at the same path.
mg_dotnet_root() {
  local muxer
  muxer=$(command -v dotnet)
  muxer=$(readlink -f "$muxer" 2>/dev/null || printf '%s' "$muxer")
  local root
  root=$(dirname "$muxer")
  [ -d "$root/sdk" ] || mg_die "cannot find the .NET SDK next to $muxer (no $root/sdk)"
  printf '%s\n' "$root"
}

# The NuGet global packages folder as NuGet itself resolves it (NUGET_PACKAGES, NuGet.config, or ~/.nuget/packages).
mg_nuget_packages() {
  local dir
  # The output goes through a variable and awk keeps the first match until the end: a reader that stops early
  # (`head -n 1`) would kill the writer with SIGPIPE, which pipefail turns into a failure.
  local listing
  listing=$(dotnet nuget locals global-packages --list 2>/dev/null) || listing=''
  dir=$(awk 'dir == "" && sub(/^global-packages: */, "") { dir = $0 } END { print dir }' <<<"$listing")
  [ -n "$dir" ] || dir=${NUGET_PACKAGES:-$HOME/.nuget/packages}
  dir=${dir%/}
  printf '%s\n' "$dir"
}

# Makes every unexpected failure say what failed: the command, its exit status and where it ran. Without it,
# `set -e` ends a script silently, and an exit status such as 141 (SIGPIPE) is all a CI log would show.
# Call it right after `set -euo pipefail`; `set -E` passes the trap into functions and command substitutions.
mg_report_failures() {
  set -E
  trap 'mg_on_error $? "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}:$LINENO"' ERR
}

mg_on_error() {
  # A failure inside a function fails its caller too; report only the innermost one.
  [ -z "${MG_ERROR_REPORTED:-}" ] || return 0
  MG_ERROR_REPORTED=1
  local meaning=''
  [ "$1" -ne 141 ] || meaning=' (SIGPIPE: a pipe was closed while it was written)'
  printf '%s: error: `%s` exited with %s%s at %s\n' "${MG_SAY_PREFIX:-build.sh}" "$2" "$1" "$meaning" "$3" >&2
}

# The load line benchmarks record beside a result: "load average 0.12 0.30 0.41 on 2 cores".
mg_load_average() {
  local one five fifteen rest
  read -r one five fifteen rest </proc/loadavg
  printf 'load average %s %s %s on %s cores' "$one" "$five" "$fifteen" "$(nproc)"
}

# mg_require_idle WHEN: a timing taken while other work competes for the cores is not a result.
# "before": exits 3 (nothing is written) when the 1-minute load average is at or above the number of cores, and records the
# machine's busy CPU time and this script's own (its waited-for children: the measurement).
# "after": the load average would count the measurement itself (a benchmark on both cores of a 2-core machine raises it to
# about 2 on its own), so it judges the CPU time *other* processes used during the run: the machine's busy time since
# "before" minus this script's children's. Half a core or more of other work means the run was shared: exit 3.
mg_require_idle() {
  [ -r /proc/loadavg ] || return 0
  local one rest
  read -r one rest </proc/loadavg
  if [ "$1" != after ] || [ -z "${MG_IDLE_BUSY0:-}" ]; then
    if awk -v load="$one" -v cores="$(nproc)" 'BEGIN { exit !(load >= cores) }'; then
      mg_say "$1: $(mg_load_average): the machine is busy, so no result is written; stop the other work and run again"
      exit 3
    fi
    MG_IDLE_BUSY0=$(mg_busy_ticks)
    MG_IDLE_OWN0=$(mg_own_ticks)
    MG_IDLE_T0=$(date +%s.%N)
    mg_say "$1: $(mg_load_average)"
    return 0
  fi
  local busy own now others
  busy=$(mg_busy_ticks)
  own=$(mg_own_ticks)
  now=$(date +%s.%N)
  others=$(awk -v b="$((busy - MG_IDLE_BUSY0))" -v o="$((own - MG_IDLE_OWN0))" -v t0="$MG_IDLE_T0" -v t1="$now" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { w = t1 - t0; if (w <= 0) w = 1; x = (b - o) / hz / w; if (x < 0) x = 0; printf "%.2f", x }')
  if awk -v x="$others" 'BEGIN { exit !(x >= 0.5) }'; then
    mg_say "$1: $(mg_load_average); other processes used $others cores during the run: it was shared, so no result is written; stop the other work and run again"
    exit 3
  fi
  mg_say "$1: $(mg_load_average) (the measurement's own work; other processes used $others cores during the run)"
}

# Busy CPU ticks of the whole machine since boot (/proc/stat: user nice system irq softirq steal).
mg_busy_ticks() {
  local cpu user nice system idle iowait irq softirq steal rest
  read -r cpu user nice system idle iowait irq softirq steal rest </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

# CPU ticks of this script and of every child it has waited for (/proc/$$/stat utime stime cutime cstime).
mg_own_ticks() {
  local fields
  fields=$(sed 's/^.*) //' "/proc/$$/stat")
  # shellcheck disable=SC2086
  set -- $fields
  echo $(( ${12} + ${13} + ${14} + ${15} ))
}
