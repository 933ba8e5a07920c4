"""The package's import rules (docs/ARCHITECTURE.md): layers import only downward, the core and the
blocks stay free of torch, dearpygui and jinja2, and no import cycle exists. Every import counts:
module level, inside functions and under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "designer"

# lowest first; a module may import its own layer and those before it
LAYERS = ("core", "blocks", "live", "codegen", "interop", "run", "edit", "train", "gui", "cli")
PURE = ("core", "blocks")  # these import none of:
HEAVY = ("torch", "dearpygui", "jinja2", "onnx", "onnxruntime", "safetensors", "PIL")
# the one block whose rule runs torch (on the meta device): it imports torch inside functions only
DEFERRED_TORCH = "designer.blocks.torch_call"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package: list[str] | None = None) -> set[str]:
    """Every module ``path`` imports, anywhere in it (``from a import b`` may name module a.b)."""
    if package is None:
        package = module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> nx.DiGraph:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    g = nx.DiGraph()
    g.add_nodes_from(modules)
    for name, path in modules.items():
        for target in imports_of(path):
            if target in modules and target != name:
                g.add_edge(name, target)
            g.nodes[name].setdefault("external", set()).add(target.split(".")[0])
    return g


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_layers_import_only_downward():
    upward = [
        f"{a} -> {b}"
        for a, b in graph().edges
        if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)
    ]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_layer_calls_back_into_the_facade():
    users = sorted(a for a, b in graph().edges if b == "designer")
    assert not users, f"modules importing the facade: {users}"


def test_core_and_blocks_import_no_torch_dearpygui_or_jinja2():
    g = graph()
    heavy = [
        f"{name} imports {ext}"
        for name, data in g.nodes(data=True)
        if layer(name) is not None and LAYERS[layer(name)] in PURE
        for ext in sorted(data.get("external", ()))
        if ext in HEAVY and not (name == DEFERRED_TORCH and ext == "torch")
    ]
    assert not heavy, "\n".join(heavy)


def test_the_torch_call_block_imports_torch_only_inside_functions():
    path = PACKAGE / "blocks" / "torch_call.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n for n in top if "torch" in imports_of_node(n)]


def imports_of_node(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    return {(node.module or "").split(".")[0]}


def test_no_import_cycles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph()) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_the_rules_see_a_deferred_upward_import(tmp_path):
    """The checker itself: an import inside a function is found and resolved."""
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from designer.gui import app\n    from . import walk\n")
    found = imports_of(source, ["designer", "core"])
    assert {"designer.gui", "designer.gui.app", "designer.core.walk"} <= found


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"split these by concern: {long}"
