"""``designer codegen FILE -o model.py``: the design as one standalone PyTorch source file."""

from __future__ import annotations

import argparse
import keyword
import os
import sys

from designer.cli.common import (
    add_input_shape,
    check_output,
    load_and_validate,
    print_issues,
)
from designer.cli.usage import UsageError


def class_name(text: str) -> str:
    """A Python class name: an ASCII identifier that is not a keyword."""
    if not (text.isidentifier() and text.isascii()) or keyword.iskeyword(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Python class name such as UNet")
    return text


def add_parser(sub):
    p = sub.add_parser(
        "codegen",
        help="write the design as a standalone nn.Module Python file",
        description="Generate clean PyTorch source (imports only torch). Exit 0 written, "
        "1 invalid design or generation problem (nothing is written), 2 unreadable file or "
        "a command line that cannot run.",
    )
    p.add_argument("file", help="design file (.json)")
    p.add_argument("-o", "--output", help="Python file to write (default: print to stdout)")
    p.add_argument(
        "--class-name",
        type=class_name,
        help="name of the model class (default: from the design name)",
    )
    p.add_argument(
        "--templates",
        metavar="DIR",
        help="folder of Jinja2 templates overriding ours. Templates are programs: they run "
        "with your permissions while the code is generated, so only use templates you trust",
    )
    p.add_argument(
        "--train-script",
        metavar="FILE",
        help="also write a standalone training script (python FILE --data DIR, or under "
        "torchrun for DDP/FSDP) that imports the model class from -o",
    )
    p.add_argument(
        "--pipeline",
        action="store_true",
        help="with --train-script: train a placed design in its stages with torch.distributed."
        "pipelining, one process per stage (torchrun --nproc_per_node=STAGES FILE --data DIR)",
    )
    add_input_shape(p)
    return p


def _script_module(args) -> str | None:
    """The module the training script imports the model from (the ``-o`` file's name)."""
    if not args.train_script:
        if args.pipeline:
            raise UsageError("--pipeline needs --train-script train.py: it shapes the script")
        return None
    if not args.output:
        raise UsageError("--train-script needs -o model.py: the script imports the model from it")
    check_output(args.train_script, args.file, args.output)
    module = os.path.splitext(os.path.basename(args.output))[0]
    if not (args.output.endswith(".py") and module.isidentifier() and module.isascii()) or (
        keyword.iskeyword(module)
    ):
        raise UsageError(f"-o {args.output!r}: give a .py file with a module name, e.g. model.py")
    return module


def _launch(args, design, overrides) -> str:
    """How to start the training script: torchrun with one process per stage for a pipeline."""
    if not args.pipeline:
        return f"python {args.train_script} (or torchrun)"
    from designer.train.pipeline import plan_stages

    stages = len(plan_stages(design, overrides).devices)
    return f"torchrun --nproc_per_node={stages} {args.train_script}"


def run(args) -> int:
    from designer.codegen.writer import CodegenError, generate_code
    from designer.core.atomicfile import atomic_write

    check_output(args.output, args.file)
    module = _script_module(args)
    if args.templates and not os.path.isdir(args.templates):
        raise UsageError(f"--templates {args.templates!r} is not a folder")
    design, report, overrides = load_and_validate(args.file, args.input_shape)
    if not report.ok:
        print_issues(report, args.file)
        return 1
    try:
        source = generate_code(
            design, args.class_name, input_shapes=overrides, templates=args.templates
        )
    except CodegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.output:
        sys.stdout.write(source)
        return 0
    script = None
    if module:
        from designer.train.pipeline import NotPlacedError, render_pipeline_script
        from designer.train.script import render_train_script

        render = render_pipeline_script if args.pipeline else render_train_script
        try:
            script = render(
                design, module, args.class_name, input_shapes=overrides, templates=args.templates
            )
        except NotPlacedError as exc:
            raise UsageError(str(exc)) from None
        except CodegenError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    atomic_write(args.output, source.encode("utf-8"))
    classes = source.count("\nclass ")
    print(
        f"wrote {args.output}: {classes} classes, {len(source.splitlines())} lines, "
        f"{report.total_params:,} parameters"
    )
    if script is not None:
        atomic_write(args.train_script, script.encode("utf-8"))
        print(f"wrote {args.train_script}: run {_launch(args, design, overrides)} --data DIR")
    return 0
