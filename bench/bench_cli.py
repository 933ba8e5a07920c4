"""Process time of a command as a user runs it, against importing networkx alone.

``designer check examples/unet.json`` (the console script in the venv, a whole process: start-up,
imports, load, validate, print) against ``python -c "import networkx"`` (the floor: the check needs
networkx). The commands run in turn, ``--repeat`` times each, in the same run; prints the medians
and their ratio (target: at most 1.25), and the best of each (the ratio of bests shows through
the load of a shared machine, which stretches the medians unevenly).

Bytecode matters: an installed package has its ``.pyc`` files, but with ``PYTHONDONTWRITEBYTECODE``
set (as in some sandboxes and CI) an editable install compiles every module of ours at each start
while networkx's stay compiled. ``--bytecode cached`` (the default, what a user sees) gives both
commands one bytecode cache in a temporary folder (``PYTHONPYCACHEPREFIX``; the warm-up run fills
it); ``none`` runs them as the environment is; ``both`` measures each.

The CLI imports with Python's cyclic garbage collector paused (designer/cli/__init__.py: what
imports create lives to the end), which a plain ``import networkx`` does not; a third command,
``import networkx`` with the collector paused likewise, shows the ratio without that advantage.

Run: .venv/bin/python bench/bench_cli.py [--repeat 40] [--bytecode both] [--command check FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin folder when run with its python
TARGET = 1.25
NETWORKX = "python -c 'import networkx'"
PAUSED = "the same, collector paused"


def seconds(command: list[str], env: dict[str, str]) -> float:
    """Wall time of one process, start to exit."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def timings(commands: dict[str, list[str]], env: dict[str, str], repeat: int) -> dict[str, list]:
    """Wall times of each command, run in turn so that both see the same machine load."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # one warm-up each: page cache, bytecode cache
        seconds(command, env)
    for _ in range(repeat):
        for name, command in commands.items():
            times[name].append(seconds(command, env))
    return times


def environment(bytecode: str, cache: str) -> dict[str, str]:
    env = dict(os.environ)
    if bytecode == "cached":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def measure(subcommand: list[str], bytecode: str, repeat: int) -> float:
    """Print the medians and their ratio for one bytecode mode; returns the ratio."""
    commands = {
        "designer": [str(BIN / "designer"), *subcommand],
        "networkx": [sys.executable, "-c", "import networkx"],
        "paused": [sys.executable, "-c", "import gc; gc.disable(); import networkx"],
    }
    with tempfile.TemporaryDirectory(prefix="bench_cli_pyc_") as cache:
        times = timings(commands, environment(bytecode, cache), repeat)
    result = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}
    ratio = result["designer"] / result["networkx"]
    print(f"bytecode {bytecode}:")
    labels = {"designer": f"designer {' '.join(subcommand)}", "networkx": NETWORKX}
    for name, label in {**labels, "paused": PAUSED}.items():
        print(f"  {label:37} {result[name] * 1000:7.1f} ms (median, best {best[name] * 1000:.1f})")
    print(
        f"  ratio {ratio:.2f} (target <= {TARGET}); of bests "
        f"{best['designer'] / best['networkx']:.2f}; against the paused import "
        f"{result['designer'] / result['paused']:.2f}",
        flush=True,
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="runs of each command")
    parser.add_argument("--bytecode", choices=["cached", "none", "both"], default="cached")
    parser.add_argument(
        "--command",
        nargs="+",
        default=["check", "examples/unet.json"],
        help="the designer subcommand and its arguments",
    )
    args = parser.parse_args()
    modes = ["cached", "none"] if args.bytecode == "both" else [args.bytecode]
    ratios = [measure(args.command, mode, args.repeat) for mode in modes]
    return 0 if ratios[0] <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
