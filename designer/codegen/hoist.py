"""Hoisting ``p = p or <default>``: a parameter only ever read with one fallback is resolved
once at the top of ``__init__``, as a hand-written class would."""

from __future__ import annotations

import ast
from collections.abc import Mapping

from designer.codegen.source import names_in
from designer.core.composite import is_expr
from designer.core.graph import Design


def expr_texts(body: Design) -> list[str]:
    texts = []
    for node_id in body.node_ids():
        data = body.node(node_id)
        texts += [v["expr"] for v in data["params"].values() if is_expr(v)]
        texts += [data[k] for k in ("when", "repeat") if isinstance(data.get(k), str)]
    return texts


def expr_names(text: str) -> set[str]:
    return names_in(text.strip())


def hoists(composite) -> dict[str, ast.expr]:
    """Parameters only ever read as ``p or <default>`` (one default): written once at the top
    of ``__init__`` as ``p = p or <default>``, as a hand-written class would."""
    trees = [ast.parse(t.strip(), mode="eval").body for t in expr_texts(composite.body)]
    found = {}
    for param in (p.name for p in composite.params):
        defaults, bare = set(), False
        for tree in trees:
            for node in ast.walk(tree):
                if _is_or_default(node, param):
                    defaults.add(ast.dump(node.values[1]))
                    found.setdefault(param, node.values[1])
            refs = sum(isinstance(n, ast.Name) and n.id == param for n in ast.walk(tree))
            ors = sum(_is_or_default(n, param) for n in ast.walk(tree))
            bare |= refs != ors
        if bare or len(defaults) != 1 or param in names_in(ast.unparse(found[param])):
            found.pop(param, None)
    return found


def _is_or_default(node: ast.AST, param: str) -> bool:
    return (
        isinstance(node, ast.BoolOp)
        and isinstance(node.op, ast.Or)
        and len(node.values) == 2
        and isinstance(node.values[0], ast.Name)
        and node.values[0].id == param
    )


def rewriter(hoisted: Mapping[str, ast.expr]):
    """Replace each hoisted ``p or <default>`` by ``p``."""

    class Rewrite(ast.NodeTransformer):
        def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
            for param, default in hoisted.items():
                if _is_or_default(node, param) and ast.dump(node.values[1]) == ast.dump(default):
                    return ast.Name(param, ast.Load())
            return self.generic_visit(node)

    return (lambda tree: Rewrite().visit(tree)) if hoisted else None
