"""Code generation: a design as one standalone Python file of ``nn.Module`` classes.

The :class:`~designer.live.plan.Plan` decides the structure (attributes, containers, forward steps);
this module turns each class of it into a :class:`ClassCode` (strings of Python, every identifier
from the plan's namespaces, every literal through ``repr``, every expression through ``ast.unparse``
of an allow-listed tree) and renders them with the Jinja2 templates in ``templates/``. Composite
block classes are generic: their constructor arguments are written as expressions of the declared
parameters and the inferred input channels (see :mod:`designer.core.symbolic`). When two instances
of a block type would need different code (a parameter expression that is sometimes ``None``, say),
each gets its own class (``Down``, ``Down_1``) so the file always reproduces the live model exactly.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from designer.core.composite import is_expr
from designer.core.graph import Design
from designer.core.symbolic import (
    ExprScope,
    Sym,
    SymInt,
    SymNode,
    code,
    implicit_env,
    opaque,
    plain,
    walk,
    wrap,
)
from designer.core.validate import freeze
from designer.live.names import Namespace
from designer.live.plan import BlockClass, Plan, PlanError, Scope, make_plan

__all__ = ["CodegenError", "PlanError", "generate_code", "render_plan", "template_dirs"]

PACKAGE = Path(__file__).resolve().parent


class CodegenError(ValueError):
    """A valid design that this generator cannot write (the message names the node)."""


@dataclass(frozen=True)
class SlotCode:
    """One attribute assignment of ``__init__`` (``exprs`` are constructor calls)."""

    attr: str  # the attribute, or the key of an entry of a ModuleDict / ModuleList
    kind: str  # module | sequential | choice | dict | list
    exprs: tuple[str, ...] = ()
    conds: tuple[str, ...] = ()
    entries: tuple[SlotCode, ...] = ()

    @property
    def key(self) -> str:
        """The entry's key as a literal (``"branch1"``)."""
        return repr(self.attr)


@dataclass(frozen=True)
class ClassCode:
    """Everything a class template needs, as Python source fragments."""

    name: str
    doc: str  # a docstring literal
    args: tuple[str, ...]  # ``in_channels``, ``out_channels=64``
    hoists: tuple[str, ...]  # ``mid_channels = mid_channels or out_channels``
    slots: tuple[SlotCode, ...]
    inputs: tuple[str, ...]
    forward: tuple[str, ...]
    implicit: tuple[tuple[int, int], ...] = ()  # (input index, dimension) per inferred argument
    params: tuple[tuple[str, str], ...] = ()  # declared parameter -> argument name

    def same_code(self, other: ClassCode) -> bool:
        return dataclasses.replace(self, name="") == dataclasses.replace(other, name="")


# -- small code helpers -------------------------------------------------------------------------


def docstring(text: str, fallback: str = "") -> str:
    """A one-line docstring literal for user text; ``repr`` whenever triple quotes are unsafe."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "") or fallback
    if line.isprintable() and '"' not in line and "\\" not in line:
        return f'"""{line}"""'
    return repr(line)


def call(func: str, positional: list[str], keywords: list[tuple[str, str]]) -> str:
    args = positional + [f"{k}={v}" for k, v in keywords]
    return f"{func}({', '.join(args)})"


def _names_in(source: str) -> set[str]:
    tree = ast.parse(source.strip(), mode="eval")
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


# -- constructor arguments ----------------------------------------------------------------------


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


def torch_call(spec, args: tuple) -> str:
    positional, keywords = args
    return call(
        f"nn.{spec.torch.cls}",
        [code(a) for a in positional],
        [(k, code(v)) for k, v in keywords.items()],
    )


def forward_lines(scope: Scope, values_of) -> tuple[str, ...]:
    """The straight-line forward: one statement per plan step, then the return."""
    lines = []
    for step in scope.steps:
        if step.dead:
            continue
        if step.functional or step.parallel:
            spec = scope.design.spec(scope.design.node(step.last)["type"])
            args = list(step.args)
            if step.parallel:
                index = {s.attr: s.kind for s in scope.slots}[step.slot]
                args = [
                    f"self.{step.slot}[{key if index == 'list' else repr(key)}]({', '.join(args)})"
                    for key, _ in step.branches
                ]
            expr = spec.functional.code(plain(values_of(step.last)), args)
        else:
            expr = f"self.{step.slot}({', '.join(step.args)})"
        if step.inline_return:
            lines.append(f"return {expr}")
        elif all(o is None for o in step.outs):
            lines.append(expr)
        else:
            lines.append(f"{', '.join(o or '_' for o in step.outs)} = {expr}")
    if not any(s.inline_return for s in scope.steps):
        lines.append(f"return {', '.join(r or '_' for r in scope.returns)}")
    return tuple(lines)


# -- the writer ---------------------------------------------------------------------------------


def _instance_key(block: str, values: Mapping[str, Any], in_shapes) -> tuple:
    return (block, freeze(dict(values)), tuple(tuple(s) for s in in_shapes))


class _Writer:
    """Builds the ClassCode of every class of a plan (block variants first, then the model)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.class_names = Namespace(plan.globals)
        self.variants: dict[tuple, ClassCode] = {}
        self.by_type: dict[str, list[ClassCode]] = {}
        self.classes: list[ClassCode] = []

    def run(self) -> list[ClassCode]:
        instances = _instances(self.plan.design, self.plan.report)
        for block_type, block in self.plan.classes.items():
            for key, info, instance in instances.get(block_type, []):
                self.variants[key] = self._variant(block, info, instance)
        self.classes.append(self._model())
        return self.classes

    def _variant(self, block: BlockClass, info, instance) -> ClassCode:
        cc = _BlockWriter(self, block, info, instance).code()
        known = self.by_type.setdefault(block.type, [])
        same = [c for c in known if c.same_code(cc)]
        if same:
            return same[0]
        if known:  # a second variant of the same block type
            cc = dataclasses.replace(cc, name=self.class_names.take(block.name))
        known.append(cc)
        self.classes.append(cc)
        return cc

    def class_for(self, block_type: str, info) -> ClassCode:
        """The class an instance with these values and input shapes uses."""
        if info is not None:
            hit = self.variants.get(_instance_key(block_type, info.values, info.in_shapes))
            if hit is not None:
                return hit
        return self.by_type[block_type][0]

    def composite_call(
        self, block_type: str, info, in_shapes, raw: Mapping[str, Any], param_code
    ) -> str:
        """``Down(64, out_channels=128)``: inferred channels, then the parameters set."""
        cc = self.class_for(block_type, info)
        positional = [code(in_shapes[i][dim]) for i, dim in cc.implicit]
        arg_names = dict(cc.params)
        keywords = [(arg_names[k], param_code(k)) for k in arg_names if k in raw]
        return call(cc.name, positional, keywords)

    def _model(self) -> ClassCode:
        plan, report, design = self.plan, self.plan.report, self.plan.design
        scope = plan.model

        def node_code(node_id: str) -> str:
            info = report.nodes[node_id]
            spec = design.spec(info.block)
            if spec.torch is not None:
                return torch_call(spec, spec.torch.args(info.values, list(info.in_shapes)))
            raw = design.node(node_id)["params"]
            return self.composite_call(
                info.block, info, info.in_shapes, raw, lambda k: code(info.values[k])
            )

        slots = tuple(_slot_code(s, node_code) for s in scope.slots)
        doc = docstring(f"The {design.name} model, generated by torch-designer.", "")
        return ClassCode(
            name=scope.name,
            doc=doc,
            args=(),
            hoists=(),
            slots=slots,
            inputs=tuple(v for _, v in scope.inputs),
            forward=forward_lines(scope, lambda n: report.nodes[n].values),
        )


def _slot_code(slot, node_code) -> SlotCode:
    """A plain slot (one module or a Sequential) or a container of them."""
    if slot.entries:
        entries = tuple(_slot_code(e, node_code) for e in slot.entries)
        return SlotCode(slot.attr, slot.kind, entries=entries)
    return SlotCode(slot.attr, slot.kind, tuple(node_code(n) for n in slot.nodes))


def _instances(design: Design, report) -> dict[str, list[tuple]]:
    """Every distinct composite instance (type, values, input shapes), nested ones included."""
    found: dict[str, list[tuple]] = {}
    seen: set[tuple] = set()

    def visit(body: Design, rep) -> None:
        for node_id in rep.order:
            info = rep.nodes.get(node_id)
            spec = body.spec(info.block) if info else None
            if spec is None or spec.composite is None:
                continue
            instance = spec.composite.instantiate(info.values, list(info.in_shapes))
            visit(instance.body, instance.report)
            key = _instance_key(info.block, info.values, info.in_shapes)
            if key not in seen:
                seen.add(key)
                found.setdefault(info.block, []).append((key, info, instance))

    visit(design, report)
    return found


class _BlockWriter:
    """One composite block class, written from one concrete instance of it."""

    def __init__(self, writer: _Writer, block: BlockClass, info, instance) -> None:
        self.writer, self.block, self.instance = writer, block, instance
        self.composite = block.composite
        self.scope = block.scope
        local = Namespace(writer.plan.globals)
        self.arg_of = {p.name: local.take(p.name, "arg") for p in self.composite.params}
        self.implicit = self._implicit(local, list(info.in_shapes))
        names = {p: ast.Name(v, ast.Load()) for p, v in self.arg_of.items()}
        env = {**implicit_env(list(info.in_shapes))}
        env.update({p: wrap(info.values[p], names[p]) for p in self.arg_of})
        for alias, (var, i, dim) in self.implicit.items():
            names[alias] = ast.Name(var, ast.Load())
            env[alias] = SymInt(info.in_shapes[i][dim], names[alias])
        self.hoisted = _hoists(self.composite)
        self.exprs = ExprScope(env, names, _rewriter(self.hoisted))
        self.nodes = walk(self.composite, self.exprs, self._input_shapes(info.in_shapes))

    def _implicit(self, local: Namespace, in_shapes: list) -> dict[str, tuple[str, int, int]]:
        """Inferred constructor arguments: alias -> (argument name, input index, dimension)."""
        reads = set().union(*(_expr_names(t) for t in _expr_texts(self.composite.body)))
        found: dict[str, tuple[str, int, int]] = {}
        for i, (_, var) in enumerate(self.scope.inputs):
            rank = len(in_shapes[i])
            base = "in" if i == 0 else var
            if rank == 2:
                found[f"{base}_features"] = (local.take(f"{base}_features"), i, 1)
            elif rank > 2:
                found[f"{base}_channels"] = (local.take(f"{base}_channels"), i, 1)
                if i == 0 and "in_features" in reads:
                    found["in_features"] = (local.take("in_features"), i, rank - 1)
        if "in_features" in found and "in_channels" not in found:
            found["in_channels"] = found["in_features"]
        return found

    def _input_shapes(self, in_shapes) -> dict[str, tuple]:
        shapes = {}
        for i, (node_id, _) in enumerate(self.scope.inputs):
            shape = list(in_shapes[i])
            for var, k, dim in self.implicit.values():
                if k == i:
                    shape[dim] = SymInt(shape[dim], ast.Name(var, ast.Load()))
            shapes[node_id] = tuple(shape)
        return shapes

    def code(self) -> ClassCode:
        slots = tuple(self._slot(s) for s in self.scope.slots)
        hoists = tuple(
            f"{self.arg_of[p]} = {self.arg_of[p]} or {ast.unparse(self.exprs.tree(ast.unparse(r)))}"
            for p, r in self.hoisted.items()
        )
        used = set()
        for text in [h.split("=", 1)[1] for h in hoists] + [e for s in slots for e in _texts(s)]:
            used |= _names_in(text)
        implicit = sorted(
            {(var, i, dim) for var, i, dim in self.implicit.values() if var in used},
            key=lambda t: (t[1], t[2]),
        )
        args = [var for var, _, _ in implicit] + [
            f"{self.arg_of[p.name]}={code(p.default)}" for p in self.composite.params
        ]
        values = {n: node.values for n, node in self.nodes.items()}
        return ClassCode(
            name=self.block.name,
            doc=docstring(self.block.doc, self.block.name),
            args=tuple(args),
            hoists=hoists,
            slots=slots,
            inputs=tuple(v for _, v in self.scope.inputs),
            forward=forward_lines(self.scope, values.__getitem__),
            implicit=tuple((i, dim) for _, i, dim in implicit),
            params=tuple(self.arg_of.items()),
        )

    def _slot(self, slot) -> SlotCode:
        if slot.kind != "choice":
            return _slot_code(slot, self._node)
        exprs = tuple(self._node(n) for n in slot.nodes)
        body = self.composite.body
        conds = tuple(ast.unparse(self.exprs.tree(body.node(n)["when"])) for n in slot.nodes)
        if len(exprs) == 1:
            exprs += ("nn.Identity()",)
        return SlotCode(slot.attr, slot.kind, exprs, conds)

    def _node(self, node_id: str) -> str:
        node: SymNode = self.nodes[node_id]
        if node.error is not None:
            raise CodegenError(
                f"block {self.block.type}, node {node_id!r}: cannot write the branch that is "
                f"off in this design ({node.error})"
            )
        body = self.composite.body
        spec = body.spec(node.block)
        info = self.instance.report.nodes.get(node_id)
        if spec.torch is not None:
            live = None if info is None else spec.torch.args(info.values, list(info.in_shapes))
            return torch_call(spec, torch_args(spec, node.values, node.in_shapes, live))
        raw = body.node(node_id)["params"]

        def param_code(name: str) -> str:
            value = raw[name]
            if is_expr(value):
                return ast.unparse(self.exprs.tree(value["expr"]))
            return code(plain(node.values[name]))

        return self.writer.composite_call(node.block, info, node.in_shapes, raw, param_code)


def _texts(slot: SlotCode) -> list[str]:
    """Every expression of a slot, entries included."""
    return [*slot.exprs, *slot.conds, *(t for e in slot.entries for t in _texts(e))]


# -- hoisting ``p = p or default`` --------------------------------------------------------------


def _expr_texts(body: Design) -> list[str]:
    texts = []
    for node_id in body.node_ids():
        data = body.node(node_id)
        texts += [v["expr"] for v in data["params"].values() if is_expr(v)]
        if "when" in data:
            texts.append(data["when"])
    return texts


def _expr_names(text: str) -> set[str]:
    return _names_in(text.strip())


def _hoists(composite) -> dict[str, ast.expr]:
    """Parameters only ever read as ``p or <default>`` (one default): written once at the top
    of ``__init__`` as ``p = p or <default>``, as a hand-written class would."""
    trees = [ast.parse(t.strip(), mode="eval").body for t in _expr_texts(composite.body)]
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
        if bare or len(defaults) != 1 or param in _names_in(ast.unparse(found[param])):
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


def _rewriter(hoisted: Mapping[str, ast.expr]):
    """Replace each hoisted ``p or <default>`` by ``p``."""

    class Rewrite(ast.NodeTransformer):
        def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
            for param, default in hoisted.items():
                if _is_or_default(node, param) and ast.dump(node.values[1]) == ast.dump(default):
                    return ast.Name(param, ast.Load())
            return self.generic_visit(node)

    return (lambda tree: Rewrite().visit(tree)) if hoisted else None


# -- rendering ----------------------------------------------------------------------------------


def template_dirs(override: str | Path | None = None) -> list[Path]:
    """Where templates are looked up: ``override`` first, then the installed or repository set."""
    default = PACKAGE / "templates"
    dirs = [Path(override)] if override is not None else []
    if override is not None and not Path(override).is_dir():
        raise CodegenError(f"templates folder {override} does not exist")
    return [*dirs, default]


def _environment(templates: str | Path | None):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(templates)]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def _imports(source: str) -> list[str]:
    """The torch imports the rendered classes and helpers use (``nn`` always)."""
    lines = []
    if re.search(r"\btorch\.", source):
        lines.append("import torch")
    if re.search(r"(?<![\w.])F\.", source):
        lines.append("import torch.nn.functional as F")
    lines.append("from torch import nn")
    return lines


def render_plan(plan: Plan, templates: str | Path | None = None, fmt: bool = True) -> str:
    """The source of a plan's classes, rendered with the templates (and ruff-formatted)."""
    import jinja2

    env = _environment(templates)
    try:
        classes = _Writer(plan).run()
        helpers = [env.get_template(f"helpers/{h}.py.j2").render() for h in plan.helpers]
        rendered = [env.get_template("class.py.j2").render(cls=c) for c in classes]
        body = "\n\n".join([*helpers, *rendered])
        source = env.get_template("module.py.j2").render(
            doc=docstring(
                f"{plan.model.name}: generated by torch-designer from {plan.design.name}."
            ),
            imports=_imports(body),
            body=body,
        )
    except jinja2.TemplateError as exc:
        raise CodegenError(f"template error: {exc}") from None
    try:
        compile(source, "<generated>", "exec")
    except SyntaxError as exc:
        raise CodegenError(
            f"the templates produced invalid Python (line {exc.lineno}): {exc.msg}"
        ) from None
    return ruff_format(source) if fmt else source


def ruff_bin() -> str | None:
    """The ruff executable, when ruff is installed."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        import shutil

        return shutil.which("ruff")
    try:
        return str(find_ruff_bin())
    except FileNotFoundError:
        return None


def ruff_format(source: str) -> str:
    """``ruff format`` the source (line length 100); unchanged when ruff is not available."""
    exe = ruff_bin()
    if exe is None:
        return source
    done = subprocess.run(
        [exe, "format", "--isolated", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else source


def generate_code(
    design: Design,
    class_name: str | None = None,
    *,
    input_shapes: Mapping[str, tuple] | None = None,
    templates: str | Path | None = None,
    fmt: bool = True,
) -> str:
    """A standalone Python file (importing only torch) defining the design as ``nn.Module``s.

    Raises :class:`~designer.live.plan.PlanError` listing the issues of an invalid design, and
    :class:`CodegenError` for a template or generation problem.
    """
    if class_name is not None and not (class_name.isidentifier() and class_name.isascii()):
        raise CodegenError(f"class name {class_name!r} is not a Python identifier")
    plan = make_plan(design, input_shapes, class_name=class_name)
    return render_plan(plan, templates, fmt)
