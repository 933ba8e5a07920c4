"""``designer check FILE``: every node's inferred shape and parameter count, and every issue."""

from __future__ import annotations

import json
import sys

from designer.cli.common import add_input_shape, load_and_validate, print_issues, table
from designer.core import memory
from designer.core.shapes import format_shape


def add_parser(sub):
    p = sub.add_parser(
        "check",
        help="validate a design and print shapes and parameter counts",
        description="Validate a design: exit 0 valid, 1 with issues, 2 unreadable.",
    )
    p.add_argument("file", help="design file (.json)")
    add_input_shape(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON for scripts")
    p.add_argument(
        "--cost", action="store_true", help="add multiply-accumulates and activation memory"
    )
    return p


def run(args) -> int:
    design, report, _ = load_and_validate(args.file, args.input_shape)
    if args.json:
        print(json.dumps({"file": args.file, **report.to_json()}, indent=2))
        _warn_memory(design, report, sys.stderr)
        return 0 if report.ok else 1
    table_rows = _rows(design, report, args.cost)
    print(table(table_rows, right=(3, 4, 5)))
    print_issues(report, args.file)
    if report.ok:
        outs = ", ".join(
            f"{n} {format_shape(report.nodes[n].spec or report.nodes[n].shape)}"
            for n in design.nodes_of_type("Output")
            if n in report.nodes
        )
        print(
            f"{args.file}: valid, {report.total_params:,} parameters, output {outs} "
            f"(checked in {report.seconds * 1000:.1f} ms)"
        )
        _warn_memory(design, report, sys.stdout)
    return 0 if report.ok else 1


def _warn_memory(design, report, stream) -> None:
    """A warning line when running the design (as ``designer run`` does) cannot fit in memory."""
    if not report.ok:
        return
    problem = memory.shortfall(
        memory.estimate(design, report), memory.available_bytes(), "this machine"
    )
    if problem:
        print(f"  warning: not enough memory to run it: {problem}", file=stream)


def _rows(design, report, with_cost: bool) -> list[tuple[str, ...]]:
    """The table: node, block, output shape, parameters (and MACs, activation memory)."""
    head = ("node", "block", "output shape", "params") + (("MACs", "activations") * with_cost)
    rows = [head]
    for node_id in report.order:
        info = report.nodes.get(node_id)
        data = design.node(node_id)
        block = data["type"] + (f" ×{data['repeat']}" if "repeat" in data else "")
        rows.append(
            (
                node_id,
                block,
                format_shape(info.spec or info.shape) if info else "?",
                f"{info.params:,}" if info else "?",
            )
        )
    rows.append(("total", "", "", f"{report.total_params:,}"))
    return _with_costs(design, report, rows) if with_cost else rows


def _with_costs(design, report, rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The rows after the head with their MACs and activation memory (only --cost imports it)."""
    from designer.core.cost import Cost, costs, human

    node_costs = costs(design, report)
    batch = next((s[0] for s in (i.shape for i in report.nodes.values()) if s and s[0]), 1)
    cells = []
    for node_id in report.order:
        c = node_costs.get(node_id)
        cells.append((human(c.macs), human(c.activation_bytes(batch), "B")) if c else ("?", "?"))
    t = sum(node_costs.values(), Cost())
    cells.append((human(t.macs), human(t.activation_bytes(batch), "B")))
    return [rows[0]] + [row + cell for row, cell in zip(rows[1:], cells, strict=True)]
