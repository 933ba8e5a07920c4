"""``designer blocks``: the block library, by category, straight from the registry."""

from __future__ import annotations

from designer.blocks import REGISTRY
from designer.cli.usage import UsageError


def add_parser(sub):
    p = sub.add_parser("blocks", help="list the block types, by category")
    p.add_argument("name", nargs="?", help="show one block's ports and parameters")
    return p


def run(args) -> int:
    if args.name:
        return _show(args.name)
    for category, specs in REGISTRY.categories().items():
        print(f"{category}:")
        width = max(len(s.name) for s in specs)
        for spec in specs:
            print(f"  {spec.name.ljust(width)}  {spec.doc}")
    return 0


def _show(name: str) -> int:
    if name not in REGISTRY:
        raise UsageError(f"unknown block type {name!r}; `designer blocks` lists them")
    spec = REGISTRY.get(name)
    inputs = ", ".join(spec.input_ports()) + (", ..." if spec.variadic else "")
    print(f"{spec.name} ({spec.category}): {spec.doc}")
    outputs = ", ".join(spec.outputs) + (", ... (one per piece)" if spec.output_count else "")
    print(f"  inputs: {inputs or 'none'}   outputs: {outputs or 'none'}")
    for p in spec.params:
        print(f"  {p.name} = {p.to_json()!r}: {p.doc} ({p.describe()})")
    return 0
