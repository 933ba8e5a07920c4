"""The ``designer`` command. Each subcommand is a module with ``add_parser`` and ``run``.

Errors a user can cause end in one clear line and an exit status; a traceback is shown only with
``DESIGNER_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from designer import __version__
from designer.fileformat import DesignFileError

# module names under designer.cli, in help order
COMMANDS = ["check", "blocks", "run", "codegen", "export", "gui"]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="designer", description="Draw, check, run, generate and export PyTorch models."
    )
    root.add_argument("--version", action="version", version=f"torch-designer {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"designer.cli.{name}")
        module.add_parser(sub).set_defaults(run=module.run)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except DesignFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: one line, unless debugging
        if os.environ.get("DESIGNER_DEBUG"):
            traceback.print_exc()
        print(
            f"internal error: {type(exc).__name__}: {exc} (set DESIGNER_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
