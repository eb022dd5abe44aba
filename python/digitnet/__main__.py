"""`python -m digitnet ARGS`: the digitnet command line, with ARGS as its arguments.

Runs the command packed with this package (digitnet/bin/digitnet, which `pip install .` and
`cmake --install build --component python` put there), else the `digitnet` on PATH. The command
replaces this process (os.execv, no shell): its output, exit status and signals are its own.
"""
import os
import shutil
import sys


def command():
    """The digitnet command's path: this package's own, else the one on PATH; None if neither."""
    packed = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "digitnet")
    if os.path.isfile(packed) and os.access(packed, os.X_OK):
        return packed
    return shutil.which("digitnet")


def main(args=None):
    path = command()
    if path is None:
        sys.exit("digitnet: the command is neither in this package (digitnet/bin/digitnet: `pip install .` "
                 "from digitnet's source packs it) nor on PATH (cmake --install build installs it)")
    os.execv(path, ["digitnet", *(sys.argv[1:] if args is None else args)])


if __name__ == "__main__":
    main()
