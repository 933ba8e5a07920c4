"""The ``designer`` command. Each subcommand is a module with ``add_parser`` and ``run``.

Errors a user can cause end in one clear line and an exit status; a traceback is shown only with
``DESIGNER_DEBUG=1``. Usage errors exit 2, Ctrl+C 130 and SIGTERM 143; both signals unwind the
program, so a file being written is removed, never left half-written.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable

from designer.cli.usage import UsageError, interruption
from designer.core.errors import DesignFileError
from designer.core.version import __version__

# module names under designer.cli, in help order
COMMANDS = ["check", "blocks", "run", "codegen", "export", "gui", "data", "train"]


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that it unwinds (like KeyboardInterrupt)."""


class Parser(argparse.ArgumentParser):
    """Reports a usage error in one line (``designer CMD: error: ...``), exit status 2."""

    def error(self, message: str):
        raise UsageError(message, self.prog)


def parser() -> argparse.ArgumentParser:
    root = Parser(
        prog="designer", description="Draw, check, run, generate and export PyTorch models."
    )
    root.add_argument("--version", action="version", version=f"torch-designer {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"designer.cli.{name}")
        module.add_parser(sub).set_defaults(run=module.run)
    return root


def main(argv: list[str] | None = None) -> int:
    restore = _raise_on_sigterm()
    try:
        return _main(argv)
    finally:
        restore()


def _main(argv: list[str] | None) -> int:
    prog = "designer"
    try:
        args = parser().parse_args(argv)
        importlib.import_module("designer.blocks")  # registers the built-in block types
        prog = f"designer {args.command}"
        return int(args.run(args) or 0)
    except UsageError as exc:
        print(f"{exc.prog or prog}: error: {exc}", file=sys.stderr)
        return 2
    except DesignFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as exc:
        return _stopped(exc)
    except Exception as exc:  # a bug of ours: one line, unless debugging
        if interruption(exc) is not None:  # a library turned Ctrl+C or SIGTERM into an error
            return _stopped(interruption(exc))
        if os.environ.get("DESIGNER_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc} (set DESIGNER_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 3


def _stopped(stop: BaseException) -> int:
    """Ctrl+C exits 130, SIGTERM 143, each with one line."""
    if isinstance(stop, Terminated):
        print("terminated", file=sys.stderr)
        return 143
    print("interrupted", file=sys.stderr)
    return 130


def _raise_on_sigterm() -> Callable[[], object]:
    """Turn the first SIGTERM into :class:`Terminated`; returns what restores the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signal handlers belong to the main thread

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends the process at once
        raise Terminated

    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:  # set outside Python: the default is the closest we can restore
        previous = signal.SIG_DFL
    signal.signal(signal.SIGTERM, terminate)
    return lambda: signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
