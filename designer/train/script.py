"""The standalone training script: ``templates/train.py.j2`` around the recipe's source.

The recipe modules (``designer/train/recipe/*.py``) are pasted in verbatim, less their docstrings
and imports: their standard-library and torch imports are gathered at the top of the script, and
the imports marked ``# recipe-local`` (those of designer's own modules) are dropped, since the
names they bring are defined in the same file. So the script runs the very loop ``designer
train`` runs.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from designer.codegen.writer import CodegenError, _environment, ruff_bin, ruff_format
from designer.core.graph import Design
from designer.live.plan import make_plan

RECIPE = Path(__file__).resolve().parent / "recipe"
MODULES = (
    "samples",
    "image_folders",
    "tensor_files",
    "data",
    "options",
    "augment",
    "checkpoint",
    "objective",
    "dist",
    "progress",
    "weights",
    "interrupt",
    "run_setup",
    "run",
    "loop",
)  # in dependency order
MARK = "# recipe-local"
SCRIPT_IMPORTS = ("import argparse", "import os", "import sys", "import tempfile")


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant)


def _strip(name: str, source: str) -> tuple[list[str], str]:
    """A recipe module's imports (minus ours) and its body without docstring and imports."""
    lines = source.splitlines()
    tree = ast.parse(source)
    imports, drop = [], set()
    for i, node in enumerate(tree.body):
        if not (isinstance(node, ast.Import | ast.ImportFrom) or (i == 0 and _is_docstring(node))):
            continue
        drop.update(range(node.lineno - 1, node.end_lineno))
        if _is_docstring(node):
            continue
        text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        module = getattr(node, "module", None) or node.names[0].name
        if module.startswith("designer"):
            if MARK not in lines[node.lineno - 1]:
                raise CodegenError(f"recipe/{name}.py imports {module} without {MARK!r}")
        elif module != "__future__":
            imports.append(text)
    body = [line for i, line in enumerate(lines) if i not in drop]
    return imports, "\n".join(body).strip("\n")


def _top_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def recipe(extra: tuple[str, ...] = ()) -> tuple[list[str], str]:
    """The recipe's imports and body (its modules, then the ``extra`` ones), refusing two
    modules that define the same name."""
    imports, bodies, seen = list(SCRIPT_IMPORTS), [], {}
    for name in (*MODULES, *extra):
        found, body = _strip(name, (RECIPE / f"{name}.py").read_text(encoding="utf-8"))
        for top in _top_names(body):
            if top in seen:
                raise CodegenError(f"recipe/{name}.py and recipe/{seen[top]}.py both define {top}")
            seen[top] = name
        imports += [line for line in found if line not in imports]
        bodies.append(f"# -- {name} " + "-" * (90 - len(name)) + f"\n\n\n{body}")
    return imports, "\n\n\n".join(bodies)


def plain(text: str) -> str:
    """User text safe inside the script's docstring."""
    ok = text.isprintable() and not set(text) & set('"\\{}')
    return text if ok and text.strip() else "a design"


def model_class(design: Design, class_name: str | None, input_shapes=None) -> str:
    """The class name ``designer codegen`` gives the design's model."""
    return make_plan(design, input_shapes, class_name=class_name).model.name


def sort_imports(source: str, module: str) -> str:
    """Ruff's import sorting (the model's module first-party); unchanged without ruff."""
    exe = ruff_bin()
    if exe is None:
        return source
    first_party = f"lint.isort.known-first-party=['{module}']"
    fix = ["--select", "I", "--fix", "--quiet", "--exit-zero", "--config", first_party]
    done = subprocess.run(
        [exe, "check", "--isolated", *fix, "--stdin-filename", "train.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 and done.stdout else source


def render_train_script(
    design: Design,
    module: str,
    class_name: str | None = None,
    *,
    input_shapes=None,
    templates: str | Path | None = None,
    fmt: bool = True,
) -> str:
    """The training script for ``design`` whose model class is imported from ``module``."""
    import jinja2

    if not module.isidentifier():
        raise CodegenError(f"{module!r} is not a module name the script can import")
    cls = model_class(design, class_name, input_shapes)
    imports, body = recipe()
    try:
        source = (
            _environment(templates)
            .get_template("train.py.j2")
            .render(
                design=plain(design.name),
                module=module,
                class_name=cls,
                imports=imports,
                recipe=body,
            )
        )
    except jinja2.TemplateError as exc:
        raise CodegenError(f"template error: {exc}") from None
    try:
        compile(source, "<train script>", "exec")
    except SyntaxError as exc:
        raise CodegenError(f"the train template gave invalid Python (line {exc.lineno})") from None
    return ruff_format(sort_imports(source, module)) if fmt else source
