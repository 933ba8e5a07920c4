"""``designer codegen FILE -o model.py``: the design as one standalone PyTorch source file."""

from __future__ import annotations

import sys

from designer.cli.common import add_input_shape, load_and_validate, print_issues


def add_parser(sub):
    p = sub.add_parser(
        "codegen",
        help="write the design as a standalone nn.Module Python file",
        description="Generate clean PyTorch source (imports only torch). Exit 0 written, "
        "1 invalid design or generation problem (nothing is written), 2 unreadable file.",
    )
    p.add_argument("file", help="design file (.json)")
    p.add_argument("-o", "--output", help="Python file to write (default: print to stdout)")
    p.add_argument("--class-name", help="name of the model class (default: from the design name)")
    p.add_argument("--templates", metavar="DIR", help="folder of Jinja2 templates overriding ours")
    add_input_shape(p)
    return p


def run(args) -> int:
    from designer.codegen import CodegenError, generate_code
    from designer.fileformat import atomic_write

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
    atomic_write(args.output, source.encode("utf-8"))
    classes = source.count("\nclass ")
    print(
        f"wrote {args.output}: {classes} classes, {len(source.splitlines())} lines, "
        f"{report.total_params:,} parameters"
    )
    return 0
