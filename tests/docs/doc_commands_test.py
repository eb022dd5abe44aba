#!/usr/bin/python3
"""Every command in the ```sh blocks of README.md, docs/cli.md and docs/data.md runs, as written, in order.

    doc_commands_test.py SOURCE_DIR [--path DIR]... [--pythonpath DIR] [--installed] [FILE.md ...]

Each line of a ```sh block is one command (a trailing backslash joins lines; `# ...` comments
stay, bash ignores them). The commands run in order in one temporary folder (so a model one
writes is there for the next), where docs/, scripts/ and examples/ of SOURCE_DIR are linked.
Under ctest, each --path DIR (the build folder) and SOURCE_DIR/scripts (digitnet-mpirun) come
first on PATH, and --pythonpath DIR (build/python) is Python's path; with --installed
(scripts/check-install.sh), PATH and PYTHONPATH are used as they are: the installed digitnet. Each must exit 0 within 10 minutes. So that the test takes seconds and
not an hour, three things differ from a user's run, and only these:
  - `digitnet train` runs at most 2 epochs (`--epochs N` becomes `--epochs 2` when N is larger;
    without --epochs, `--epochs 2` is added), under digitnet-mpirun too;
  - `digitnet serve` gets `--port 0` (any free port) and is stopped with SIGINT once it says
    `serving`, which is what it must print within 30 seconds;
  - the commands below that build, install or benchmark are not run here, because another test
    runs them: SKIPPED says which; and digitnet-mpirun's commands, where the digitnet found
    was built without MPI (the sanitizer build).
Exit 77 (skipped, saying why) when mnist-10k, which the README's commands use, can be neither
found in the cache nor fetched.
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

# Commands run elsewhere, by their start: what runs them.
SKIPPED = {
    "bash scripts/run-default.sh": "scripts/check-install.sh runs it on a fresh clone (scripts/test.sh, CI)",
    "bash scripts/test.sh": "CI runs it (.ci/run); this test is part of it",
    "bash scripts/install-deps.sh": "installs Debian packages; scripts/test.sh runs it first",
    "python3 -m venv": "the python_venv_install test runs it (pip install . into a venv, offline)",
    "bash bench/": "a benchmark (minutes); it rewrites the numbers it measures",
    "cmake ": "scripts/test.sh and scripts/check-install.sh build and install",
}
EPOCHS = 2


def commands(path):
    """The ```sh blocks' commands of a Markdown file, each with its line number."""
    out, block, pending, start = [], False, "", 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if stripped.startswith("```"):
                block = stripped in ("```sh", "```bash") if not block else False
                continue
            if not block or (not stripped and not pending):
                continue
            if not pending:
                start = number
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            text = pending + stripped
            pending = ""
            if text and not text.startswith("#"):
                out.append((start, text))
    return out


def shortened(command):
    """The command as this test runs it (see the module's docstring)."""
    if not re.search(r"\bdigitnet train\b", command) or "--resume" in command:
        return command
    if re.search(r"--epochs[ =]\d+", command):
        return re.sub(r"--epochs([ =])(\d+)", lambda m: f"--epochs{m.group(1)}{min(int(m.group(2)), EPOCHS)}", command)
    code, _, comment = command.partition(" #")
    return f"{code.rstrip()} --epochs {EPOCHS}" + (f"  #{comment}" if comment else "")


def run_serve(command, cwd, env):
    command = re.sub(r"--port[ =]\d+", "", command.split(" #")[0]) + " --port 0"
    p = subprocess.Popen(["bash", "-c", "exec " + command], cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line or "serving" in line:
            break
    p.send_signal(signal.SIGINT)
    rest, _ = p.communicate(timeout=30)
    return "serving" in line and p.returncode == 0, line + rest


def main():
    args = sys.argv[1:]
    source = os.path.abspath(args.pop(0))
    paths, files, installed, pythonpath = [], [], False, None
    while args:
        a = args.pop(0)
        if a == "--path":
            paths.append(os.path.abspath(args.pop(0)))
        elif a == "--pythonpath":
            pythonpath = os.path.abspath(args.pop(0))
        elif a == "--installed":
            installed = True
        else:
            files.append(a)
    files = files or ["README.md", "docs/cli.md", "docs/data.md"]
    env = dict(os.environ)
    if not installed:
        env["PATH"] = os.pathsep.join(paths + [os.path.join(source, "scripts"), env.get("PATH", "")])
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
    python = subprocess.run(["python3", "-m", "digitnet", "--version"], env=env, capture_output=True).returncode == 0
    env.pop("DIGITNET_MIRRORS", None)
    fetched = subprocess.run(["digitnet", "data", "fetch", "mnist-10k"], env=env, capture_output=True, text=True)
    if fetched.returncode != 0:
        print(f"doc commands test skipped: mnist-10k, which the README uses, cannot be fetched: {fetched.stderr}")
        sys.exit(77)
    digitnet = subprocess.run(["bash", "-c", "command -v digitnet"], env=env, capture_output=True, text=True)
    linked = subprocess.run(["ldd", digitnet.stdout.strip()], capture_output=True, text=True).stdout
    mpi = "libmpi" in linked
    failed = ran = skipped = 0
    with tempfile.TemporaryDirectory(prefix="digitnet-doc-") as tmp:
        for name in ("docs", "scripts", "examples"):
            os.symlink(os.path.join(source, name), os.path.join(tmp, name))
        for doc in files:
            for number, command in commands(os.path.join(source, doc)):
                where = f"{doc}:{number}"
                why = next((w for start, w in SKIPPED.items() if command.startswith(start)), None)
                if why:
                    print(f"{where}: not run here ({why}): {command}")
                    skipped += 1
                    continue
                if command.startswith("python3 -m digitnet") and not python:
                    print(f"{where}: not run here (the Python package was not built): {command}")
                    skipped += 1
                    continue
                if command.startswith("digitnet-mpirun") and not mpi:
                    print(f"{where}: not run here (this digitnet was built without MPI): {command}")
                    skipped += 1
                    continue
                started = time.monotonic()
                if re.match(r"digitnet serve\b", command):
                    ok, output = run_serve(command, tmp, env)
                    shown = command + "  [--port 0, stopped with SIGINT once serving]"
                else:
                    shown = shortened(command)
                    r = subprocess.run(["bash", "-eo", "pipefail", "-c", shown], cwd=tmp, env=env,
                                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
                    ok, output = r.returncode == 0, r.stdout + r.stderr
                    if shown != command:
                        shown += "  [shortened]"
                print(f"{where}: {'ok' if ok else 'FAILED'} ({time.monotonic() - started:.1f} s): {shown}", flush=True)
                ran += 1
                if not ok:
                    failed += 1
                    print("    " + "\n    ".join(output.strip().splitlines()[-20:]))
    print(f"doc commands: {ran - failed} of {ran} ran as written, {skipped} run by other tests")
    sys.exit(1 if failed or ran == 0 else 0)


if __name__ == "__main__":
    main()
