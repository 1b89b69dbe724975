"""The build hook of the gosched wheel: builds libgosched with cargo and puts it inside
the package, so that the wheel is a platform wheel (``py3-none-linux_x86_64``) that
imports from anywhere with no environment variable.

The Rust crate is found in ``rust/`` beside this file (an sdist, which ``sdist`` below
fills) or two directories up (a checkout: ``pip install ./bindings/python``).
``$GOSCHED_WHEEL_LIBRARY`` changes what goes in:

- unset: ``cargo build --release --lib`` into ``$CARGO_TARGET_DIR`` if set, else the
  build directory, and the resulting ``libgosched.so``;
- a path: that already built library instead (no cargo);
- ``none``: no library at all, a ``py3-none-any`` wheel that finds an installed one
  (``make install``) or a checkout's build (see ``gosched/_lib.py``).

Everything else is in pyproject.toml.
"""

import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel  # setuptools >= 70.1
except ImportError:
    try:  # older setuptools: the wheel package's
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:  # neither: an sdist can still be made
        bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = "GOSCHED_WHEEL_LIBRARY"
LIBRARY = "libgosched.so"
# What cargo needs to build the library: the manifest, the build script, the sources
# and the assembly. Cargo.toml declares benches/switch.rs as a target, and cargo
# refuses a manifest whose target files are missing.
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "benches/switch.rs"]
CRATE_DIRS = ["src", "asm", "gdb"]


def bundling() -> bool:
    return os.environ.get(ENV, "") != "none"


def crate_dir() -> str:
    """The directory of gosched's Cargo.toml: rust/ of an sdist, or the checkout's."""
    for d in (os.path.join(HERE, "rust"), os.path.dirname(os.path.dirname(HERE))):
        manifest = os.path.join(d, "Cargo.toml")
        if os.path.isfile(manifest) and os.path.isdir(os.path.join(d, "src")):
            with open(manifest) as f:
                if 'name = "gosched"' in f.read():
                    return d
    raise SystemExit(
        f"gosched: no Rust sources to build libgosched from (looked in {HERE}/rust and two "
        f"directories up); set ${ENV} to a built libgosched.so, or to 'none' for a wheel "
        f"without the library"
    )


def cargo() -> str:
    found = shutil.which("cargo")
    home = os.path.join(os.path.expanduser("~"), ".cargo", "bin", "cargo")
    if found:
        return found
    if os.path.isfile(home):
        return home
    raise SystemExit(
        f"gosched: building the wheel needs cargo (the Rust toolchain); "
        f"or set ${ENV} to a built libgosched.so"
    )


class BuildPy(build_py):
    """build_py, then libgosched.so into the package."""

    def run(self):
        super().run()
        if not bundling():
            return
        given = os.environ.get(ENV, "")
        if given:
            if not os.path.isfile(given):
                raise SystemExit(f"gosched: ${ENV} is {given!r}, which is not a file")
            lib = given
        else:
            crate = crate_dir()
            build_temp = self.get_finalized_command("build").build_temp
            target = os.environ.get("CARGO_TARGET_DIR") or os.path.abspath(os.path.join(build_temp, "cargo"))
            cmd = [cargo(), "build", "--release", "--lib", "--manifest-path", os.path.join(crate, "Cargo.toml")]
            self.announce(f"building libgosched: {' '.join(cmd)} (target {target})", level=2)
            subprocess.run(cmd, check=True, env=dict(os.environ, CARGO_TARGET_DIR=target))
            lib = os.path.join(target, "release", LIBRARY)
        dest = os.path.join(self.build_lib, "gosched", LIBRARY)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(lib, dest)
        os.chmod(dest, 0o755)


COMMANDS = {"build_py": BuildPy}

if bdist_wheel is not None:

    class BdistWheel(bdist_wheel):
        """A platform wheel when it carries the library. The library does not depend
        on the Python version or ABI (ctypes loads it), hence py3-none-<platform>."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = not bundling()

        def get_tag(self):
            python, abi, plat = super().get_tag()
            return ("py3", "none", plat) if bundling() else (python, abi, plat)

    COMMANDS["bdist_wheel"] = BdistWheel


class Sdist(sdist):
    """The sdist carries the crate in rust/, so that it builds the same way."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        crate = crate_dir()
        dest = os.path.join(base_dir, "rust")
        for f in CRATE_FILES:
            os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
            shutil.copyfile(os.path.join(crate, f), os.path.join(dest, f))
        for d in CRATE_DIRS:
            shutil.copytree(os.path.join(crate, d), os.path.join(dest, d), dirs_exist_ok=True)
        # A library copied into the package by hand is not source.
        for f in os.listdir(os.path.join(base_dir, "gosched")):
            if f.endswith((".so", ".dylib")):
                os.remove(os.path.join(base_dir, "gosched", f))


COMMANDS["sdist"] = Sdist


class GoschedDistribution(Distribution):
    def has_ext_modules(self):
        # Native code inside: installed into platlib, and a platform wheel.
        return bundling()


setup(
    distclass=GoschedDistribution,
    cmdclass=COMMANDS,
)
