#!/usr/bin/python3
"""ctest's entry to the Python tests: `run_pytest.py BUILD_PYTHON_DIR DIGITNET_BINARY TEST_FILE... [PYTEST_ARGS]`.
Exit 77 (skipped, with the reason on stdout) only when pytest itself is missing, or when the
build leaves out every test of the file (the sanitizer build skips those marked slow); a missing
package the tests need skips those tests, saying which package to install."""
import os
import sys

try:
    import pytest
except ImportError:
    print("python tests skipped: pytest is not installed (apt-get install python3-pytest)")
    sys.exit(77)

build_python, binary, *tests = sys.argv[1:]
os.environ["DIGITNET_BINARY"] = binary
sys.path.insert(0, build_python)
os.environ["PYTHONPATH"] = build_python + os.pathsep + os.environ.get("PYTHONPATH", "")
code = pytest.main(["-q", "-rs", "-p", "no:cacheprovider", *tests])
if code == pytest.ExitCode.NO_TESTS_COLLECTED:  # every test here deselected (-m "not slow")
    print("python tests skipped: every test in this file is marked slow, which this build leaves out")
    sys.exit(77)
sys.exit(code)
