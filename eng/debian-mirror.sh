# shellcheck shell=bash
# Finds the Debian package mirror this host already uses, so the root file system comes from the same place
# as the host's own packages and no server name is written into the repository.
# Override with MODELGEN_DEBIAN_MIRROR=<url> (e.g. on an Ubuntu host, whose mirrors carry no Debian suites).

# Prints the first URI of a deb (not deb-src) entry that is Debian's main archive, not its security archive.
# A source counts as Debian when its path ends in /debian (the archive layout every mirror uses)
# or when it is signed with Debian's archive keyring.
_mg_mirror_from_deb822() {
  awk '
    function flush() {
      if (!done && types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no" && uri != "" \
          && uri !~ /security/ && suites !~ /security/ \
          && (uri ~ /\/debian\/?$/ || signed ~ /debian-archive-keyring/)) {
        print uri; done = 1; exit
      }
      types = ""; uri = ""; suites = ""; enabled = ""; signed = ""
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    { key = tolower($1); value = $0; sub(/^[^:]*:[ \t]*/, "", value) }
    key == "types:" { types = value }
    key == "uris:" { uri = $2 }
    key == "suites:" { suites = value }
    key == "enabled:" { enabled = tolower($2) }
    key == "signed-by:" { signed = value }
    END { flush() }
  ' "$1"
}

_mg_mirror_from_list() {
  awk '
    /^[ \t]*deb[ \t]/ {
      line = $0; sub(/^[ \t]*deb[ \t]+/, "", line); options = ""
      if (line ~ /^\[/) { options = line; sub(/\].*/, "", options); sub(/^[^]]*\][ \t]*/, "", line) }
      split(line, field, /[ \t]+/)
      if (field[1] !~ /security/ && field[2] !~ /security/ \
          && (field[1] ~ /\/debian\/?$/ || options ~ /debian-archive-keyring/)) { print field[1]; exit }
    }
  ' "$1"
}

# Prints the mirror URL or fails with what to do.
mg_debian_mirror() {
  if [ -n "${MODELGEN_DEBIAN_MIRROR:-}" ]; then
    printf '%s\n' "$MODELGEN_DEBIAN_MIRROR"
    return
  fi
  local file mirror
  # apt reads sources.list first, then sources.list.d/ in name order; take the first match in that order.
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
    [ -f "$file" ] || continue
    case "$file" in
      *.sources) mirror=$(_mg_mirror_from_deb822 "$file") ;;
      *.list) mirror=$(_mg_mirror_from_list "$file") ;;
      *) mirror='' ;;
    esac
    if [ -n "$mirror" ]; then
      printf '%s\n' "$mirror"
      return
    fi
  done
  mg_die "found no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d; set MODELGEN_DEBIAN_MIRROR to a Debian mirror URL"
}
