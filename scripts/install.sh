#!/usr/bin/env bash
# `make install` and `make uninstall`: installs the built library as a system
# library, or removes what it installed.
#
#   scripts/install.sh install|uninstall|files
#
# The places come from the environment, as the Makefile passes them (GNU names):
# PREFIX (default /usr/local), LIBDIR ($PREFIX/lib), INCLUDEDIR ($PREFIX/include),
# DATADIR ($PREFIX/share), PKGCONFIGDIR ($LIBDIR/pkgconfig), CMAKEDIR
# ($LIBDIR/cmake/gosched), and DESTDIR (a staging root put in front of every path
# written, never into the files). The library is taken from
# ${CARGO_TARGET_DIR:-target}/release. `files` prints what `install` writes.
#
# Installed: libgosched.so.X.Y.Z with the links libgosched.so.X (its SONAME) and
# libgosched.so, libgosched.a, gosched.h, gosched.hpp (and gosched_sync.hpp, which it
# includes), gosched.pc, the CMake package (gosched-config.cmake,
# gosched-config-version.cmake) and, when the tree has one, the gdb extension
# (gdb/gosched-gdb.py, or the only gdb/*.py) as
# $DATADIR/gdb/auto-load$LIBDIR/libgosched.so.X.Y.Z-gdb.py, where gdb's auto-load
# looks for the scripts of an object file.
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-}"
case "$action" in
install | uninstall | files) ;;
*)
    echo "usage: scripts/install.sh install|uninstall|files" >&2
    exit 2
    ;;
esac

version=$(sed -n 's/^version = "\([0-9][0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "install.sh: no version in Cargo.toml" >&2; exit 1; }
major=${version%%.*}

PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DATADIR=${DATADIR:-$PREFIX/share}
PKGCONFIGDIR=${PKGCONFIGDIR:-$LIBDIR/pkgconfig}
CMAKEDIR=${CMAKEDIR:-$LIBDIR/cmake/gosched}
DESTDIR=${DESTDIR:-}
for v in PREFIX LIBDIR INCLUDEDIR DATADIR PKGCONFIGDIR CMAKEDIR; do
    case "${!v}" in
    /*) ;;
    *) echo "install.sh: $v must be an absolute path, not '${!v}'" >&2; exit 2 ;;
    esac
done
# Without trailing slashes, so that paths join cleanly.
PREFIX=${PREFIX%/}; LIBDIR=${LIBDIR%/}; INCLUDEDIR=${INCLUDEDIR%/}; DATADIR=${DATADIR%/}
PKGCONFIGDIR=${PKGCONFIGDIR%/}; CMAKEDIR=${CMAKEDIR%/}; DESTDIR=${DESTDIR%/}

# What libgosched.a needs from the system: rustc's list for a staticlib on Linux
# (`rustc --print native-static-libs`) without -lgcc_s, which the C compiler driver
# links by itself as needed (and which has no static archive for -static links).
STATIC_LIBS="-lutil -lrt -lpthread -lm -ldl -lc"

gdb_script=""
if [ -f gdb/gosched-gdb.py ]; then
    gdb_script=gdb/gosched-gdb.py
else
    shopt -s nullglob
    scripts=(gdb/*.py)
    shopt -u nullglob
    if [ ${#scripts[@]} -eq 1 ]; then
        gdb_script=${scripts[0]}
    elif [ ${#scripts[@]} -gt 1 ]; then
        echo "install.sh: several gdb/*.py and no gdb/gosched-gdb.py: which one is the extension?" >&2
        exit 1
    fi
fi
gdb_dest="$DATADIR/gdb/auto-load$LIBDIR/libgosched.so.$version-gdb.py"

# Every path install writes, in the order uninstall removes them.
installed=(
    "$LIBDIR/libgosched.so"
    "$LIBDIR/libgosched.so.$major"
    "$LIBDIR/libgosched.so.$version"
    "$LIBDIR/libgosched.a"
    "$INCLUDEDIR/gosched.h"
    "$INCLUDEDIR/gosched.hpp"
    "$INCLUDEDIR/gosched_sync.hpp"
    "$PKGCONFIGDIR/gosched.pc"
    "$CMAKEDIR/gosched-config.cmake"
    "$CMAKEDIR/gosched-config-version.cmake"
)
# The gdb script is always removed (it may come from an earlier install), and only
# installed when the tree has one.
all=("${installed[@]}" "$gdb_dest")
[ -n "$gdb_script" ] && installed+=("$gdb_dest")

if [ "$action" = files ]; then
    printf '%s\n' "${installed[@]}"
    exit 0
fi

# `dir/rel`, relative to `from`, for the relocatable CMake package.
relative() { realpath -m --relative-to="$1" "$2"; }
# ${prefix}-relative paths in gosched.pc when under the prefix.
pc_path() {
    case "$1" in
    "$PREFIX") echo '${prefix}' ;;
    "$PREFIX"/*) echo "\${prefix}${1#"$PREFIX"}" ;;
    *) echo "$1" ;;
    esac
}

if [ "$action" = uninstall ]; then
    for f in "${all[@]}"; do
        if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then
            rm -f "$DESTDIR$f"
            echo "removed $DESTDIR$f"
        fi
    done
    # Directories this left empty, up to (not including) the prefix.
    for f in "${all[@]}"; do
        d=$(dirname "$f")
        while [ "$d" != "$PREFIX" ] && [ "$d" != / ] && [ -d "$DESTDIR$d" ] \
            && rmdir "$DESTDIR$d" 2>/dev/null; do
            d=$(dirname "$d")
        done
    done
    exit 0
fi

target="${CARGO_TARGET_DIR:-target}/release"
for f in libgosched.so libgosched.a; do
    [ -f "$target/$f" ] || { echo "install.sh: no $target/$f: run \`make\` first" >&2; exit 1; }
done
soname=$(readelf -d "$target/libgosched.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libgosched.so.$major" ]; then
    echo "install.sh: $target/libgosched.so has SONAME '$soname', not libgosched.so.$major: rebuild it" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
subst() {
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
        -e "s|@PC_LIBDIR@|$(pc_path "$LIBDIR")|g" -e "s|@PC_INCLUDEDIR@|$(pc_path "$INCLUDEDIR")|g" \
        -e "s|@STATIC_LIBS@|$STATIC_LIBS|g" \
        -e "s|@CMAKE_STATIC_LIBS@|$(echo "$STATIC_LIBS" | sed 's/-l//g; s/ /;/g')|g" \
        -e "s|@REL_LIBDIR@|$(relative "$CMAKEDIR" "$LIBDIR")|g" \
        -e "s|@REL_INCLUDEDIR@|$(relative "$CMAKEDIR" "$INCLUDEDIR")|g" "$1"
}
subst packaging/gosched.pc.in >"$tmp/gosched.pc"
subst packaging/gosched-config.cmake.in >"$tmp/gosched-config.cmake"
subst packaging/gosched-config-version.cmake.in >"$tmp/gosched-config-version.cmake"

put() { # mode source destination
    install -d "$(dirname "$DESTDIR$3")"
    install -m "$1" "$2" "$DESTDIR$3"
    echo "installed $DESTDIR$3"
}
put 0755 "$target/libgosched.so" "$LIBDIR/libgosched.so.$version"
ln -sfn "libgosched.so.$version" "$DESTDIR$LIBDIR/libgosched.so.$major"
ln -sfn "libgosched.so.$major" "$DESTDIR$LIBDIR/libgosched.so"
echo "linked $DESTDIR$LIBDIR/libgosched.so.$major and libgosched.so"
put 0644 "$target/libgosched.a" "$LIBDIR/libgosched.a"
put 0644 include/gosched.h "$INCLUDEDIR/gosched.h"
put 0644 bindings/cpp/gosched.hpp "$INCLUDEDIR/gosched.hpp"
put 0644 bindings/cpp/gosched_sync.hpp "$INCLUDEDIR/gosched_sync.hpp"
put 0644 "$tmp/gosched.pc" "$PKGCONFIGDIR/gosched.pc"
put 0644 "$tmp/gosched-config.cmake" "$CMAKEDIR/gosched-config.cmake"
put 0644 "$tmp/gosched-config-version.cmake" "$CMAKEDIR/gosched-config-version.cmake"
if [ -n "$gdb_script" ]; then
    put 0644 "$gdb_script" "$gdb_dest"
else
    echo "no gdb extension in gdb/: none installed"
fi
if [ -z "$DESTDIR" ]; then
    echo "If $LIBDIR is one of the dynamic linker's directories, run ldconfig now."
fi
