#!/usr/bin/python3
"""`pip install .` into a virtual environment, offline, as docs/python.md says, from a copy of
the source tree; then the installed package trains on scikit-learn's digits and
`python -m digitnet --version` runs the packed command.

    venv_install_test.py SOURCE_DIR [--reuse BUILD_DIR]

The venv is made by the Python running this script, with --system-site-packages (Debian's
NumPy, scikit-learn, setuptools and wheel), and pip runs with --no-build-isolation --no-index.
--reuse BUILD_DIR: pip's build compiles in that CMake build folder (DIGITNET_BUILD_DIR), where
ctest's build has every target already, instead of compiling digitnet anew (minutes);
DIGITNET_VENV_TEST_FRESH=1 ignores it. Exit 77 (skipped, saying why) where a Debian package it
needs is missing."""
import os
import shutil
import subprocess
import sys
import tempfile
import time


def skip(why):
    print(f"venv install test skipped: {why}")
    sys.exit(77)


def run(args, **kwargs):
    print("$", " ".join(args), flush=True)
    started = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    print(f"  ({time.monotonic() - started:.1f} s, exit {result.returncode})", flush=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result


def main():
    source, *rest = sys.argv[1:]
    reuse = rest[1] if rest[:1] == ["--reuse"] and os.environ.get("DIGITNET_VENV_TEST_FRESH") != "1" else None
    for module, package in [("venv", "python3-venv"), ("ensurepip", "python3-venv"),
                            ("setuptools", "python3-setuptools"), ("wheel", "python3-wheel"),
                            ("numpy", "python3-numpy"), ("sklearn", "python3-sklearn")]:
        try:
            __import__(module)
        except ImportError:
            skip(f"{sys.executable} has no {module} (apt-get install {package})")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if reuse:
        env["DIGITNET_BUILD_DIR"] = reuse
    with tempfile.TemporaryDirectory(prefix="digitnet-venv-") as tmp:
        tree = os.path.join(tmp, "src")
        shutil.copytree(source, tree, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", "build*", "node_modules", "__pycache__", "*.egg-info", "*.npz"))
        venv = os.path.join(tmp, "v")
        made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv],
                              capture_output=True, text=True)
        if made.returncode != 0:
            if "ensurepip" in made.stdout + made.stderr:
                skip(f"{sys.executable} -m venv cannot install pip (apt-get install python3-venv)")
            sys.exit(f"failed: python -m venv\n{made.stdout}\n{made.stderr}")
        python = os.path.join(venv, "bin", "python")
        run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-cache-dir", tree], env=env, cwd=tmp)

        # The venv's own package (not the build tree's nor one in /usr/local), trained.
        fit = run([python, "-c", f"""
import os, digitnet
from sklearn.datasets import load_digits
assert digitnet.__file__.startswith({venv!r}), digitnet.__file__
X, y = load_digits(return_X_y=True)
clf = digitnet.MLPClassifier(hidden_layer_sizes=(32,), epochs=5, normalize="zscore", random_state=0).fit(X[:1200], y[:1200])
score = clf.score(X[1200:], y[1200:])
print("held-out accuracy", round(score, 3))
assert score > 0.8, score
"""], env=env, cwd=tmp)
        print(fit.stdout.strip())

        # The packed command, with no other digitnet on PATH.
        bare = dict(env, PATH="/usr/bin:/bin")
        version = run([python, "-m", "digitnet", "--version"], env=bare, cwd=tmp)
        assert version.stdout.strip() == "digitnet 0.1.0", version.stdout
        usage = subprocess.run([python, "-m", "digitnet", "train", "--no-such-flag"], env=bare, cwd=tmp,
                               capture_output=True, text=True)
        assert usage.returncode != 0 and "--no-such-flag" in usage.stderr, usage

        # Without NumPy: `import digitnet` says what is missing; `python -m digitnet` still runs.
        fake = os.path.join(tmp, "no-numpy")
        os.makedirs(os.path.join(fake, "numpy"))
        with open(os.path.join(fake, "numpy", "__init__.py"), "w") as f:
            f.write("raise ModuleNotFoundError(\"No module named 'numpy'\", name='numpy')\n")
        no_numpy = dict(bare, PYTHONPATH=fake)
        failed = subprocess.run([python, "-c", "import digitnet"], env=no_numpy, cwd=tmp,
                                capture_output=True, text=True)
        assert failed.returncode != 0 and "digitnet needs NumPy and scikit-learn, and numpy is missing" in \
            failed.stderr, failed.stderr
        print("without NumPy:", failed.stderr.strip().splitlines()[-1])
        version = run([python, "-m", "digitnet", "--version"], env=no_numpy, cwd=tmp)
        assert version.stdout.strip() == "digitnet 0.1.0", version.stdout
    print("venv install: pip install, fit, python -m digitnet: passed")


if __name__ == "__main__":
    main()
