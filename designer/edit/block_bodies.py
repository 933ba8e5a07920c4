"""The bodies of open composite blocks: working copies, their checks, and new definitions.

While a block is open the editor edits a working copy of its body; after every command the copy
is checked (it must still load) and becomes the block's new definition, shared by every instance.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from designer.core.composite import CompositeDef, block_uses, nesting_problem
from designer.core.graph import Design
from designer.core.validate import Analyzer, Report
from designer.edit.refused import EditRefused

Scope = list[tuple[str, str]]  # the open blocks, outermost first: (instance id, block name)


def working_copy(root: Design, name: str) -> Design:
    """A copy of block ``name``'s body to edit (it sees the root's blocks)."""
    definition = root.blocks[name]
    body = Design(definition.name)
    body.graph = copy.deepcopy(definition.body.graph)
    body.blocks = root.blocks
    return body


def scope_of(root: Design, names: tuple[str, ...]) -> Scope:
    """The scope opening blocks ``names`` in turn, each through its first instance."""
    scope, design = [], root
    for name in names:
        instance = next(iter(design.nodes_of_type(name)), name)
        scope.append((instance, name))
        design = root.blocks[name].body
    return scope


def check_body(body: Design, name: str) -> None:
    """Refuse a body of block ``name`` that no file could hold.

    It keeps an Input and an Output, and each conditional node has an input wire.
    """
    for kind, port in (("Input", "input"), ("Output", "output")):
        if not body.nodes_of_type(kind):
            raise EditRefused(
                f"block {name} needs at least one {kind} node (its {port} port)",
                f"add another {kind} first",
            )
    for node_id, data in body.graph.nodes(data=True):
        if "when" in data and not body.inputs_of(node_id):
            raise EditRefused(
                f"`{node_id}` is used only when {data['when']} and needs an input wire",
                f"wire an input into {node_id} (the first flows on while off), or delete it",
            )


def check_nesting(blocks: Mapping[str, CompositeDef], label: str) -> None:
    """Refuse the edit ``label`` when its blocks contain themselves or nest too deep."""
    problem = nesting_problem(blocks)
    if problem is None:
        return
    what = problem[1].split(";")[0]
    if "contains itself" in what:
        what = what.replace(" contains", " would contain", 1)
        raise EditRefused(
            f"{label}: {what}", "a block cannot contain itself, directly or through other blocks"
        )
    what = what.replace("blocks nest", "blocks would nest", 1)
    raise EditRefused(f"{label}: {what}", "flatten some of them first")


def redefine(root: Design, name: str, edited: Design) -> dict[str, CompositeDef]:
    """The root's blocks with block ``name`` defined by the ``edited`` body.

    Blocks using it, directly or not, are replaced by fresh copies too: their memoised
    instances were computed with the old definition.
    """
    body = Design(root.blocks[name].name)
    body.graph = copy.deepcopy(edited.graph)
    body.blocks = root.blocks
    blocks = {**root.blocks, name: _redefined(root.blocks[name], body)}
    for user in _users(blocks, name):
        blocks[user] = _redefined(blocks[user], blocks[user].body)
    return blocks


def inner_report(analyzer: Analyzer, root: Design, scope: Scope) -> Report:
    """The open block's body as its (first) instance sees it: shapes and resolved values."""
    report, design = analyzer.run(root), root
    for instance, name in scope:
        info = report.nodes.get(instance)
        if info is None:  # the instance has issues of its own: shown at the top level
            return Report()
        report = design.blocks[name].instantiate(info.values, list(info.in_shapes)).report
        design = root.blocks[name].body
    return report


def _redefined(block: CompositeDef, body: Design) -> CompositeDef:
    """A new definition (with empty memos) of ``block`` with this body."""
    return CompositeDef(block.name, body, block.params, block.category, block.doc)


def _users(blocks: Mapping[str, CompositeDef], name: str) -> set[str]:
    """The blocks that use block ``name``, directly or through others."""
    uses = block_uses(blocks)
    found: set[str] = set()
    todo = [name]
    while todo:
        used = todo.pop()
        for user, inner in uses.items():
            if used in inner and user not in found and user != name:
                found.add(user)
                todo.append(user)
    return found
