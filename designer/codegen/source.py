"""Python source fragments: docstrings, calls, constructor calls and the straight-line forward.

Every identifier comes from the plan's namespaces and every literal goes through ``repr``.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from designer.codegen.placing import entry_lines, moved, part_of
from designer.core.forms import Functional
from designer.core.symbolic import Sym, code, opaque, plain
from designer.live.plan_types import Scope


class CodegenError(ValueError):
    """A valid design that this generator cannot write (the message names the node)."""


def docstring(text: str, fallback: str = "") -> str:
    """A one-line docstring literal for user text; ``repr`` whenever triple quotes are unsafe."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "") or fallback
    if line.isprintable() and '"' not in line and "\\" not in line:
        return f'"""{line}"""'
    return repr(line)


def call(func: str, positional: list[str], keywords: list[tuple[str, str]]) -> str:
    args = positional + [f"{k}={v}" for k, v in keywords]
    return f"{func}({', '.join(args)})"


def names_in(source: str) -> set[str]:
    tree = ast.parse(source.strip(), mode="eval")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _agrees(symbolic: tuple[tuple, dict], live: tuple[tuple, dict]) -> bool:
    """Symbolic arguments match the live ones (a symbolic keyword may stand for a default)."""
    pos, kw = symbolic
    live_pos, live_kw = live
    if tuple(plain(list(pos))) != tuple(live_pos):
        return False
    if any(k not in kw or plain(kw[k]) != v for k, v in live_kw.items()):
        return False
    return all(isinstance(v, Sym) for k, v in kw.items() if k not in live_kw)


def torch_args(spec, values: Mapping[str, Any], in_shapes: list, live: tuple | None) -> tuple:
    """The registry's constructor arguments on symbolic values, checked against the live ones."""
    for params in ({k: opaque(v) for k, v in values.items()}, dict(values)):
        result = spec.torch.args(params, list(in_shapes))
        if live is None or _agrees(result, live):
            return result
    return live


def class_alias(target: str) -> str:
    """The name a generated file imports ``package.module.Class`` as: ``module_Class`` (never
    one of its own classes' names)."""
    module, _, cls = target.rpartition(".")
    return f"{module.rpartition('.')[2]}_{cls}"


def torch_call(spec, args: tuple, values: Mapping[str, Any]) -> str:
    positional, keywords = args
    name = spec.torch.class_name(plain(dict(values)))
    if spec.torch.imported:  # the file imports the class under an alias naming its module
        name = class_alias(name)
    return call(
        name if spec.torch.layer or spec.torch.imported else f"nn.{name}",
        [code(a) for a in positional],
        [(k, code(v)) for k, v in keywords.items()],
    )


def repeat_call(first: str, rest: str, count: int | str) -> str:
    """A repeated node's ``nn.Sequential`` of independently constructed copies: ``first`` once
    then ``rest`` (the same call when the first copy keeps the spec), ``count`` in all (a number,
    or an expression's source inside a block)."""
    if count == 1:
        return f"nn.Sequential({first})"
    if rest == first:
        return f"nn.Sequential(*[{first} for _ in range({count})])"
    others = count - 1 if isinstance(count, int) else f"{count} - 1"
    return f"nn.Sequential({first}, *[{rest} for _ in range({others})])"


def functional_call(functional: Functional, values: Mapping[str, Any], args: list[str]) -> str:
    """The call a functional op's declaration describes, on the argument expressions ``args``."""
    if functional.infix:
        return f" {functional.target} ".join(args)
    positional = [f"[{', '.join(args)}]"] if functional.packed else args
    keywords = [(k, repr(v)) for k, v in functional.arguments(values).items()]
    return call(_spelled(functional.target_name(values)), positional, keywords)


def _spelled(target: str) -> str:
    """``torch.nn.functional.gelu`` as the generated file imports it: ``F.gelu``."""
    prefix = "torch.nn.functional."
    return "F." + target[len(prefix) :] if target.startswith(prefix) else target


def forward_lines(scope: Scope, values_of) -> tuple[str, ...]:
    """The straight-line forward: one statement per plan step, then the return."""
    lines = entry_lines(scope)
    for step in scope.steps:
        if step.dead:
            continue
        args = [moved(scope.placement, a, t) for a, t in zip(step.args, _tags(step), strict=True)]
        args = [a if k is None else f"{k}={a}" for a, k in zip(args, _keywords(step), strict=True)]
        if step.functional or step.parallel:
            spec = scope.design.spec(scope.design.node(step.last)["type"])
            if step.parallel:
                args = _branch_calls(scope, step)
            expr = functional_call(spec.functional, plain(values_of(step.last)), args)
        else:
            expr = f"self.{step.slot}{part_of(scope, step)}({', '.join(args)})"
        if step.gate:
            expr = f"{expr} if {step.gate} else {args[0]}"
        if step.inline_return:
            lines.append(f"return {expr}")
        elif all(o is None for o in step.outs):
            lines.append(expr)
        else:
            rest = ", *_" if step.rest else ""
            lines.append(f"{', '.join(o or '_' for o in step.outs)}{rest} = {expr}")
    if not any(s.inline_return for s in scope.steps):
        lines.append(f"return {', '.join(r or '_' for r in scope.returns)}")
    return tuple(lines)


def _branch_calls(scope: Scope, step) -> list[str]:
    """``self.branches["a"](x)`` per branch; in a placed model each moves its input in and its
    output back to the merge's device where those wires are cuts."""
    kind = {s.attr: s.kind for s in scope.slots}[step.slot]
    moves = step.branch_moves or ((None, None),) * len(step.branches)
    calls = []
    for (key, _), (into, back) in zip(step.branches, moves, strict=True):
        args = ", ".join(moved(scope.placement, a, into) for a in step.args)
        call = f"self.{step.slot}[{key if kind == 'list' else repr(key)}]({args})"
        calls.append(moved(scope.placement, call, back))
    return calls


def _keywords(step) -> tuple:
    """Per argument, its keyword (an optional port) or None (positional)."""
    return step.keywords or (None,) * len(step.args)


def _tags(step) -> tuple:
    """Per argument, the tag it moves to (None: it stays); all None in an unplaced scope."""
    return step.moves or (None,) * len(step.args)
