"""``designer place FILE --devices A,B -o OUT``: split a design into stages over devices."""

from __future__ import annotations

import argparse

from designer.cli.common import add_input_shape, check_output, load_and_validate, print_issues
from designer.cli.common import table as text_table
from designer.cli.usage import UsageError

BALANCE = ("memory", "macs")


def device_list(text: str) -> list[str]:
    from designer.core.placement import tag_problem

    devices = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in devices if d.isdigit() or tag_problem(d, 0)]
    if not devices or bad:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give devices separated by commas, such as cuda:0,cuda:1 or cpu,cpu"
        )
    return devices


def add_parser(sub):
    p = sub.add_parser(
        "place",
        help="split a design into contiguous stages over devices",
        description=(
            "Assign each node a stage along the data flow so that the chosen cost is balanced "
            "and the fewest bytes cross between stages; stage k runs on the k-th device "
            "(cpu,cpu makes two stages on one device)."
        ),
    )
    p.add_argument("file", help="design file (.json)")
    p.add_argument("--devices", type=device_list, required=True, metavar="A,B,...")
    p.add_argument("--by", choices=BALANCE, default="memory", help="what to balance")
    p.add_argument("-o", "--output", required=True, help="the placed design (.json)")
    add_input_shape(p)
    return p


def run(args) -> int:
    from designer.core.fileformat import save
    from designer.core.placement import apply_split, auto_split

    check_output(args.output, args.file)
    design, report, _ = load_and_validate(args.file, args.input_shape)
    if not report.ok:
        print_issues(report, args.file)
        return 1
    try:
        split = auto_split(design, report, len(args.devices), args.by)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    apply_split(design, split, args.devices)
    save(design, args.output)
    print(summary(design, report, args.devices, args.by))
    print(f"wrote {args.output}")
    return 0


def summary(design, report, devices: list[str], by: str) -> str:
    """Per stage: device, nodes, parameters, activations, share of the balanced cost; then cuts."""
    from designer.core.memory import human_bytes
    from designer.core.placement import cut_wires, node_load, per_tag

    totals = per_tag(design, report)
    whole = sum(node_load(c, by) for c in totals.values()) or 1.0
    rows = [("stage", "device", "nodes", "parameters", "activations", f"{by} share")]
    for k, device in enumerate(devices):
        cost = totals.get(str(k))
        if cost is None:
            continue
        count = sum(1 for n in design.node_ids() if design.node(n).get("device") == str(k))
        share = node_load(cost, by) / whole
        act = human_bytes(cost.activation_bytes())
        rows.append((str(k), device, str(count), f"{cost.params:,}", act, f"{share:.0%}"))
    lines = [text_table(rows, right=(2, 3, 4, 5))]
    cuts = cut_wires(design, report)
    moved = human_bytes(sum(c.bytes_per_sample for c in cuts))
    lines.append(f"{len(cuts)} cut wire(s), {moved} per sample moved between stages:")
    for c in cuts:
        lines.append(
            f"  {c.src}.{c.src_port} -> {c.dst}.{c.dst_port} "
            f"(stage {c.source} -> {c.target}): {human_bytes(c.bytes_per_sample)}"
        )
    return "\n".join(lines)
