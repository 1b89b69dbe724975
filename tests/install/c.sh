#!/usr/bin/env bash
# The installed library as C, C++ and CMake users see it (tests/install.rs runs this):
# `make install` from a copy of the tree into a temporary prefix, the copy's target/
# deleted, then programs built with pkg-config (shared, -static, the archive), with
# the installed gosched.hpp, and with find_package(gosched) (shared and static),
# each run; the SONAME, NEEDED entries, the version check of the CMake package, a
# DESTDIR staging, and `make uninstall` leaving the prefix empty.
#
#   tests/install/c.sh WORKDIR
#
# Installs pkg-config and cmake with apt when root and missing; what cannot run
# without them says "SKIPPED: ..." with the reason. Ends with "install: OK".
set -euo pipefail
NAME=install
source "$(dirname "$0")/common.sh"
[ $# -eq 1 ] || { echo "usage: tests/install/c.sh WORKDIR" >&2; exit 2; }
W=$1
rm -rf "$W" && mkdir -p "$W"
W=$(cd "$W" && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
version=$(sed -n 's/^version = "\([0-9][0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
major=${version%%.*}
P="$W/prefix"
skipped=0

have_pc=1
have_tool pkg-config pkg-config || { have_pc=0; say "SKIPPED: pkg-config builds: $WHY"; skipped=1; }
have_cmake=1
have_tool cmake cmake || { have_cmake=0; say "SKIPPED: CMake builds: $WHY"; skipped=1; }

say "copying the tree and running make install PREFIX=$P"
copy_tree "$W/src"
env -u CARGO_TARGET_DIR make -C "$W/src" --no-print-directory install PREFIX="$P" >"$W/make-install.log" 2>&1 \
    || { cat "$W/make-install.log" >&2; fail "make install"; }

# A staged install (DESTDIR) writes below the stage and not into the files.
env -u CARGO_TARGET_DIR make -C "$W/src" --no-print-directory install PREFIX=/opt/gosched DESTDIR="$W/stage" \
    >"$W/make-stage.log" 2>&1 || { cat "$W/make-stage.log" >&2; fail "make install DESTDIR=..."; }
[ -f "$W/stage/opt/gosched/lib/libgosched.so.$version" ] || fail "DESTDIR: no libgosched.so.$version in the stage"
grep -qx "prefix=/opt/gosched" "$W/stage/opt/gosched/lib/pkgconfig/gosched.pc" || fail "DESTDIR leaked into gosched.pc"
! grep -rq "$W/stage" "$W/stage/opt/gosched/lib/cmake" || fail "DESTDIR leaked into the CMake package"
make -C "$W/src" --no-print-directory uninstall PREFIX=/opt/gosched DESTDIR="$W/stage" >/dev/null
[ -z "$(find "$W/stage/opt/gosched" -mindepth 1 2>/dev/null)" ] || fail "DESTDIR: uninstall left $(find "$W/stage" -mindepth 1 | head -n 3)"
say "DESTDIR install and uninstall: ok"

rm -rf "$W/src/target"
say "deleted the build tree's target/"

L="$P/lib"
for f in "libgosched.so.$version" "libgosched.so.$major" libgosched.so libgosched.a; do
    [ -e "$L/$f" ] || fail "no $L/$f"
done
[ "$(readlink "$L/libgosched.so.$major")" = "libgosched.so.$version" ] || fail "libgosched.so.$major is not a link to libgosched.so.$version"
[ "$(readlink "$L/libgosched.so")" = "libgosched.so.$major" ] || fail "libgosched.so is not a link to libgosched.so.$major"
soname=$(readelf -d "$L/libgosched.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libgosched.so.$major" ] || fail "SONAME is '$soname', want libgosched.so.$major"
say "SONAME $soname"

# The program's NEEDED entry is the SONAME, not a path.
check_needed_soname() {
    local n
    n=$(needed "$1" | grep gosched || true)
    [ "$n" = "libgosched.so.$major" ] || fail "$1 NEEDED '$n', want libgosched.so.$major"
}
check_no_gosched() {
    local n
    n=$(needed "$1")
    ! grep -q gosched <<<"$n" || fail "$1 depends on libgosched dynamically: $(tr '\n' ' ' <<<"$n")"
}
run_ok() { # program want
    local out
    out=$(env -u LD_LIBRARY_PATH timeout 60 "$1") || fail "$1 failed: $out"
    case "$out" in *"$2"*) ;; *) fail "$1 printed '$out'" ;; esac
}

cd "$W"
if [ "$have_pc" = 1 ]; then
    export PKG_CONFIG_PATH="$L/pkgconfig"
    [ "$(pkg-config --modversion gosched)" = "$version" ] || fail "pkg-config --modversion gosched"
    libdir=$(pkg-config --variable=libdir gosched)
    # shellcheck disable=SC2046
    $CC -std=c11 -O2 -Wall -Wextra -Werror -pthread "$ROOT/tests/install/app.c" \
        $(pkg-config --cflags --libs gosched) -Wl,-rpath,"$libdir" -o app-shared
    check_needed_soname app-shared
    run_ok ./app-shared "app: OK"
    loads=$(env -u LD_LIBRARY_PATH ldd ./app-shared)
    grep -q "libgosched.so.$major => $L/libgosched.so.$major" <<<"$loads" || fail "app-shared does not load $L's library: $loads"
    say "pkg-config, shared: built, runs, NEEDED libgosched.so.$major"

    # shellcheck disable=SC2046
    $CC -static -std=c11 -O2 -pthread "$ROOT/tests/install/app.c" \
        $(pkg-config --static --cflags --libs gosched) -o app-static 2>"$W/static-link.log" \
        || { cat "$W/static-link.log" >&2; fail "cc -static \$(pkg-config --static ...)"; }
    [ -z "$(needed app-static)" ] || fail "app-static has dynamic dependencies: $(needed app-static | tr '\n' ' ')"
    run_ok ./app-static "app: OK"
    say "pkg-config --static, cc -static: built, runs, no dynamic dependency"

    # shellcheck disable=SC2046
    $CC -std=c11 -O2 -pthread "$ROOT/tests/install/app.c" $(pkg-config --cflags gosched) \
        "$libdir/libgosched.a" $(pkg-config --variable=static_libs gosched) -o app-archive
    check_no_gosched app-archive
    run_ok ./app-archive "app: OK"
    say "libgosched.a with static_libs: built, runs, no dependency on libgosched"

    # shellcheck disable=SC2046
    $CXX -std=c++17 -O1 -Wall -Wextra -Werror -pthread "$ROOT/tests/install/app.cpp" \
        $(pkg-config --cflags --libs gosched) -Wl,-rpath,"$libdir" -o app-cxx
    check_needed_soname app-cxx
    run_ok ./app-cxx "app++: OK"
    say "C++ with the installed gosched.hpp: built, runs"

    # What the static library needs is what rustc says (less the unwinder, which the
    # C compiler driver links), so the list in gosched.pc does not go stale.
    echo 'pub extern "C" fn f() {}' >"$W/probe.rs"
    rustc_libs=$(cd "$W" && rustc --crate-type staticlib --print native-static-libs probe.rs -o "$W/probe.a" 2>&1 \
        | sed -n 's/.*native-static-libs: //p' | tr ' ' '\n' | grep -vx -- -lgcc_s | sort -u | tr '\n' ' ')
    pc_libs=$(pkg-config --variable=static_libs gosched | tr ' ' '\n' | sort -u | tr '\n' ' ')
    [ -n "$rustc_libs" ] || fail "rustc printed no native-static-libs"
    [ "$rustc_libs" = "$pc_libs" ] || fail "gosched.pc static_libs '$pc_libs', rustc says '$rustc_libs' (scripts/install.sh)"
    say "static_libs match rustc's native-static-libs"
fi

if [ "$have_cmake" = 1 ]; then
    mkdir -p cmake-app
    cp "$ROOT/tests/install/app.c" cmake-app/
    cat >cmake-app/CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.10)
project(gosched_user C)
find_package(gosched 0.1 REQUIRED)
add_executable(app-shared app.c)
target_link_libraries(app-shared PRIVATE gosched::gosched)
add_executable(app-static app.c)
target_link_libraries(app-static PRIVATE gosched::static)
CMAKE
    cmake -S cmake-app -B cmake-build -DCMAKE_PREFIX_PATH="$P" >cmake.log 2>&1 || { cat cmake.log >&2; fail "cmake configure"; }
    cmake --build cmake-build >>cmake.log 2>&1 || { cat cmake.log >&2; fail "cmake --build"; }
    check_needed_soname cmake-build/app-shared
    check_no_gosched cmake-build/app-static
    run_ok cmake-build/app-shared "app: OK"
    run_ok cmake-build/app-static "app: OK"
    say "CMake find_package(gosched 0.1): gosched::gosched and gosched::static build and run"

    # The version file refuses another major, and a minor newer than installed.
    for want in "$((major + 1)).0" "$major.999"; do
        mkdir -p "cmake-v$want"
        printf 'cmake_minimum_required(VERSION 3.10)\nproject(v C)\nfind_package(gosched %s REQUIRED)\n' "$want" \
            >"cmake-v$want/CMakeLists.txt"
        if cmake -S "cmake-v$want" -B "cmake-v$want/build" -DCMAKE_PREFIX_PATH="$P" >"cmake-v$want.log" 2>&1; then
            fail "find_package(gosched $want) accepted version $version"
        fi
        grep -q "$version" "cmake-v$want.log" || fail "find_package(gosched $want) did not name the installed $version"
    done
    say "CMake version check refuses $((major + 1)).0 and $major.999"
fi

make -C "$W/src" --no-print-directory uninstall PREFIX="$P" >/dev/null
left=$(find "$P" -mindepth 1 | head -n 5)
[ -z "$left" ] || fail "make uninstall left: $left"
say "make uninstall left the prefix empty"
[ "$skipped" = 0 ] || say "some parts SKIPPED (see above)"
say "OK"
