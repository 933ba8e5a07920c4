"""The ``designer`` command. Each subcommand is a module with ``add_parser`` and ``run``.

Errors a user can cause end in one clear line and an exit status; a traceback is shown only with
``DESIGNER_DEBUG=1``. Usage errors exit 2, Ctrl+C 130 and SIGTERM 143; both signals unwind the
program, so a file being written is removed, never left half-written.

Start-up is kept short: this module imports only ``sys`` before :func:`main`'s ``try`` (so a Ctrl+C
at any instant after that ends in one line), a command line naming a command imports only that
command's module, and the garbage collector does not run while the imports are made.
"""

from __future__ import annotations

import sys

# command -> its module under designer.cli, in help order
COMMANDS = {
    "check": "check",
    "blocks": "blocks",
    "run": "run",
    "codegen": "codegen",
    "export": "export",
    "import": "import_model",  # `import` is a keyword
    "place": "place",
    "gui": "gui",
    "data": "data",
    "train": "train",
}


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that it unwinds (like KeyboardInterrupt)."""


def parser(argv: list[str] | None = None):
    """The command line's parser. When ``argv`` starts with a command, only that command's module
    is imported (and only its subparser built); otherwise (help, an unknown command) all are."""
    import argparse
    import importlib

    from designer.cli.usage import UsageError
    from designer.core.version import __version__

    class Parser(argparse.ArgumentParser):
        """Reports a usage error in one line (``designer CMD: error: ...``), exit status 2."""

        def error(self, message: str):
            raise UsageError(message, self.prog)

    root = Parser(
        prog="designer", description="Draw, check, run, generate and export PyTorch models."
    )
    root.add_argument("--version", action="version", version=f"torch-designer {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name in [COMMANDS[chosen]] if chosen else COMMANDS.values():
        module = importlib.import_module(f"designer.cli.{name}")
        module.add_parser(sub).set_defaults(run=module.run)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run a command line (``sys.argv``'s when ``argv`` is None) and return its exit status."""
    restore = None
    try:
        # the process's own command line ignores a Ctrl+C once done: it would only break the exit
        restore = _handle_signals(ignore_ctrl_c_after=argv is None)
        return _main(sys.argv[1:] if argv is None else argv, own_process=argv is None)
    except (KeyboardInterrupt, Terminated) as exc:  # while importing, before _main's own try
        return _stopped(exc)
    finally:
        if restore is not None:
            restore()


def _main(argv: list[str], own_process: bool = False) -> int:
    from designer.cli.usage import UsageError, interruption
    from designer.core.errors import DesignFileError

    prog = "designer"
    try:
        args = _parse_and_import(argv, own_process)
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
    except BrokenPipeError:  # the reader left (designer check ... | head): say nothing more
        _silence_stdout()
        return 1
    except Exception as exc:  # a bug of ours: one line, unless debugging
        if interruption(exc) is not None:  # a library turned Ctrl+C or SIGTERM into an error
            return _stopped(interruption(exc))
        _report_bug(exc)
        return 3


def _parse_and_import(argv: list[str], own_process: bool):
    """The parsed command line, with the command's modules and the block types imported. In a
    process of its own the cyclic garbage collector waits meanwhile: what imports create lives
    to the end, and collecting it again and again (networkx's classes, the registry) took about
    8% of ``designer check``'s time. Those objects are then frozen out of later collections."""
    import gc

    paused = own_process and gc.isenabled()
    if paused:
        gc.disable()
    try:
        args = parser(argv).parse_args(argv)
        __import__("designer.blocks")  # registers the built-in block types
    finally:
        if paused:
            gc.freeze()
            gc.enable()
    return args


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit does not fail on the closed pipe."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report_bug(exc: Exception) -> None:
    import os

    if os.environ.get("DESIGNER_DEBUG"):
        import traceback

        traceback.print_exc()
    print(
        f"internal error: {type(exc).__name__}: {exc} (set DESIGNER_DEBUG=1 for details)",
        file=sys.stderr,
    )


def _stopped(stop: BaseException) -> int:
    """Ctrl+C exits 130, SIGTERM 143, each with one line."""
    if isinstance(stop, Terminated):
        print("terminated", file=sys.stderr)
        return 143
    print("interrupted", file=sys.stderr)
    return 130


def _handle_signals(ignore_ctrl_c_after: bool):
    """Ctrl+C raises KeyboardInterrupt and the first SIGTERM :class:`Terminated`, where the program
    is, so that it unwinds; returns what restores the previous handlers (or ignores Ctrl+C)."""
    import signal

    def interrupt(signum, frame):
        _raise_outside_importlib(signum, frame, KeyboardInterrupt)

    def terminate(signum, frame):
        _raise_outside_importlib(signum, frame, Terminated)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    mine = {signal.SIGTERM: terminate}
    if previous[signal.SIGINT] is signal.default_int_handler:  # not ignored, not someone else's
        mine[signal.SIGINT] = interrupt
    try:
        for sig, handler in mine.items():
            signal.signal(sig, handler)
    except ValueError:  # not the main thread: signal handlers belong to it
        return lambda: None
    if ignore_ctrl_c_after:
        previous[signal.SIGINT] = signal.SIG_IGN

    def restore():
        for sig, handler in previous.items():
            # None: set outside Python; the default is the closest we can restore
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    return restore


def _raise_outside_importlib(signum: int, frame, stop: type[BaseException]) -> None:
    """Raise ``stop``, unless the program is in the import machinery's own code: raised in its
    weakref callbacks, it would be printed and ignored ("Exception ignored in ...") and the command
    would go on. There the signal is sent again, from a thread (the main thread's own ``os.kill``
    would handle it at once, here), to be handled a few instructions later."""
    import _thread
    import os
    import signal

    if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
        _thread.start_new_thread(os.kill, (os.getpid(), signum))
        return
    if stop is Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one ends the process at once
    raise stop


if __name__ == "__main__":
    sys.exit(main())
