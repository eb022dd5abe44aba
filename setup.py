"""`pip install .`: CMake builds the module _digitnet for the Python that runs this build, and the
digitnet command; both are packed with python/digitnet/*.py (the command as digitnet/bin/digitnet,
which `python -m digitnet` runs). The metadata is in pyproject.toml.

Environment:
  DIGITNET_BUILD_DIR   a CMake build folder to build in (and reuse), instead of one under build-python/
  DIGITNET_CMAKE_ARGS  more arguments for CMake's configure step, e.g. "-DDIGITNET_MPI=ON"
  CMAKE_BUILD_PARALLEL_LEVEL  jobs for the compile (default: one per core)
"""
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(digitnet VERSION ([0-9.]+)", f.read()).group(1)


def cache_value(build_dir, name):
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


class CMakeBuild(build_ext):
    """Builds the CMake targets _digitnet and digitnet_cli and copies them where setuptools packs."""

    def run(self):
        if shutil.which("cmake") is None:
            sys.exit("digitnet: building the package needs CMake, a C++ compiler and digitnet's libraries "
                     "(bash scripts/install-deps.sh installs them)")
        # The interpreter itself (a venv's python is a link to it): the module is built for its
        # version and headers, and a build folder made for it stays valid when the venv is gone.
        python = os.path.realpath(sys.executable)
        build_dir = os.environ.get("DIGITNET_BUILD_DIR")
        if build_dir:
            build_dir = os.path.abspath(build_dir)
        else:
            tag = hashlib.sha256(python.encode()).hexdigest()[:8]
            build_dir = os.path.join(ROOT, "build-python", f"cmake-{sys.implementation.cache_tag}-{tag}")
        configured = cache_value(build_dir, "Python3_EXECUTABLE")
        if configured is None or os.path.realpath(configured) != python or os.environ.get("DIGITNET_CMAKE_ARGS"):
            if configured is None:  # a new folder: the package alone
                configure = ["cmake", "-S", ROOT, "-B", build_dir, "-DDIGITNET_TESTS=OFF", "-DCMAKE_BUILD_TYPE=Release"]
            else:  # an existing one keeps its source folder and its settings
                configure = ["cmake", build_dir]
            configure += [f"-DPython3_EXECUTABLE={python}", "-DDIGITNET_PYTHON=ON"]
            configure += shlex.split(os.environ.get("DIGITNET_CMAKE_ARGS", ""))
            self.announce(" ".join(configure), level=2)
            subprocess.run(configure, check=True)
        compile_ = ["cmake", "--build", build_dir, "--target", "_digitnet", "digitnet_cli"]
        if "CMAKE_BUILD_PARALLEL_LEVEL" not in os.environ:
            compile_ += ["-j", str(os.cpu_count() or 1)]
        self.announce(" ".join(compile_), level=2)
        subprocess.run(compile_, check=True)

        for ext in self.extensions:
            target = self.get_ext_fullpath(ext.name)  # _digitnet + this Python's EXT_SUFFIX
            built = os.path.join(build_dir, "python", "digitnet", os.path.basename(target))
            if not os.path.exists(built):
                sys.exit(f"digitnet: {built} was not built: the CMake build in {build_dir} is for "
                         f"{configured or 'another Python'}, not {python} "
                         f"(EXT_SUFFIX {sysconfig.get_config_var('EXT_SUFFIX')})")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(built, target)
            # The command line, for `python -m digitnet` (digitnet/__main__.py).
            bin_dir = os.path.join(os.path.dirname(target), "bin")
            os.makedirs(bin_dir, exist_ok=True)
            shutil.copy2(os.path.join(build_dir, "digitnet"), os.path.join(bin_dir, "digitnet"))


setup(
    version=project_version(),
    ext_modules=[Extension("digitnet._digitnet", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own build folder: build/ is CMake's usual one (README); .gitignore has build*/.
    options={"build": {"build_base": "build-python/setuptools"}},
)
