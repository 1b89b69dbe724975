# Shared by the install tests (sourced): the tree copy and tool installation.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { printf '%s: %s\n' "$NAME" "$*"; }
fail() { printf '%s: FAILED: %s\n' "$NAME" "$*" >&2; exit 1; }

# copy_tree DEST: the source tree as a user would have it (git's files, committed or
# not, when it is a git work tree; else everything but build output), without target/.
copy_tree() {
    local dest=$1
    mkdir -p "$dest"
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
            | tar --null -T - -cf -) | tar -xf - -C "$dest"
    else
        (cd "$ROOT" && tar --exclude=./target --exclude=./.git --exclude='*.egg-info' \
            --exclude=./bindings/python/build --exclude='__pycache__' -cf - .) | tar -xf - -C "$dest"
    fi
}

# have_tool COMMAND PACKAGE: true when COMMAND exists, after installing PACKAGE with
# apt when running as root; else prints why not.
APT_UPDATED=0
have_tool() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        WHY="$cmd not found and cannot be installed (not root with apt-get)"
        return 1
    fi
    say "installing $pkg (apt-get)"
    if ! timeout 600 apt-get install -y -qq "$pkg" >/dev/null 2>&1; then
        if [ "$APT_UPDATED" = 0 ]; then
            APT_UPDATED=1
            timeout 300 apt-get update -qq >/dev/null 2>&1 || true
            timeout 600 apt-get install -y -qq "$pkg" >/dev/null 2>&1 || true
        fi
    fi
    command -v "$cmd" >/dev/null 2>&1 && return 0
    WHY="$cmd not found and apt-get install $pkg failed"
    return 1
}

# needed FILE: the NEEDED entries of an ELF file, one a line.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
