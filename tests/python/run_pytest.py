#!/usr/bin/python3
"""ctest's entry to the Python tests: `run_pytest.py BUILD_PYTHON_DIR DIGITNET_BINARY TEST_FILE...`.
Exit 77 (skipped, with the reason on stdout) only when pytest itself is missing; a missing
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
sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", *tests]))
