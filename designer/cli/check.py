"""``designer check FILE``: every node's inferred shape and parameter count, and every issue."""

from __future__ import annotations

import json

from designer.cli.common import add_input_shape, load_and_validate, print_issues, table
from designer.shapes import format_shape


def add_parser(sub):
    p = sub.add_parser(
        "check",
        help="validate a design and print shapes and parameter counts",
        description="Validate a design: exit 0 valid, 1 with issues, 2 unreadable.",
    )
    p.add_argument("file", help="design file (.json)")
    add_input_shape(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON for scripts")
    return p


def run(args) -> int:
    design, report, _ = load_and_validate(args.file, args.input_shape)
    if args.json:
        print(json.dumps({"file": args.file, **report.to_json()}, indent=2))
        return 0 if report.ok else 1
    rows = [("node", "block", "output shape", "params")]
    for node_id in report.order:
        info = report.nodes.get(node_id)
        block = design.node(node_id)["type"]
        rows.append(
            (
                node_id,
                block,
                format_shape(info.shape) if info else "?",
                f"{info.params:,}" if info else "?",
            )
        )
    rows.append(("total", "", "", f"{report.total_params:,}"))
    print(table(rows, right=(3,)))
    print_issues(report, args.file)
    if report.ok:
        outs = ", ".join(
            f"{n} {format_shape(report.nodes[n].shape)}"
            for n in design.nodes_of_type("Output")
            if n in report.nodes
        )
        print(
            f"{args.file}: valid, {report.total_params:,} parameters, output {outs} "
            f"(checked in {report.seconds * 1000:.1f} ms)"
        )
    return 0 if report.ok else 1
