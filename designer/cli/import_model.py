"""``designer import SOURCE -o DESIGN.json``: an existing model as an editable design + weights.

SOURCE is ``package.module:callable`` or ``path/to/file.py:callable`` (a module class or a factory,
called with ``--args``), a ``.pt2`` file (``torch.export.save``; its own example inputs serve
when no ``--input-shape`` is given) or an ``.onnx`` file. Python sources run with your
permissions: import only code you trust.
"""

from __future__ import annotations

import argparse
import sys

from designer.cli.common import check_output
from designer.cli.usage import UsageError


def _typed(parse):
    """An argparse type from one of the importer's parsers (their errors read as usage errors)."""

    def convert(text: str):
        from designer.interop.importer.source import SourceError

        try:
            return parse(text)
        except SourceError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def keyword_args(text: str) -> dict:
    """``k=v,k2=v2`` with Python literal values (strings may go unquoted)."""
    from designer.interop.importer.source import parse_kwargs

    return _typed(parse_kwargs)(text)


def example_input(text: str) -> tuple:
    """``N,C,H,W`` with an optional ``:dtype`` (``2,16:int64`` for token ids)."""
    from designer.interop.importer.source import parse_example

    return _typed(parse_example)(text)


def add_parser(sub):
    p = sub.add_parser(
        "import",
        help="import a PyTorch module, a .pt2 program or an ONNX file as an editable design",
        description=__doc__.split("\n\n", 1)[1].replace("``", "'"),
    )
    p.add_argument("source", help="package.module:callable, file.py:callable, model.pt2 or .onnx")
    p.add_argument("-o", "--output", required=True, help="the design to write (.json)")
    p.add_argument("--args", type=keyword_args, default={}, metavar="K=V,...")
    p.add_argument(
        "--input-shape",
        type=example_input,
        action="append",
        default=[],
        metavar="N,C,H,W[:DTYPE]",
        help="an example input's shape, batch first (one per model input); ':int64' for ids",
    )
    p.add_argument("--name", help="the design's name (default: the model's class)")
    return p


def run(args) -> int:
    from designer.interop.importer import ImportFailed
    from designer.interop.importer.source import (
        SourceError,
        import_source,
        source_file,
        write_result,
    )

    check_output(args.output, source_file(args.source))
    try:
        result = import_source(args.source, args.input_shape, args.args, args.name)
    except SourceError as exc:
        raise UsageError(_flagged(str(exc))) from None
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    weights = write_result(result, args.output)
    print(result.report())
    print(f"wrote {args.output}" + (f" and {weights}" if weights else " (no weights file)"))
    return 0


def _flagged(message: str) -> str:
    """The importer's words for the command line's flags."""
    return message.replace("give an input shape", "give --input-shape")
