"""The core stays pure: importing it pulls in neither torch nor dearpygui; a command imports only
what it needs."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from common import ROOT


@pytest.mark.parametrize(
    "module",
    ["designer", "designer.core.graph", "designer.core.validate", "designer.core.fileformat"],
)
def test_core_imports_without_torch_or_dearpygui(module):
    code = (
        f"import sys, {module}, designer.blocks; designer.blocks.REGISTRY.get('Up'); "
        "bad = [m for m in ('torch', 'dearpygui') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imported: {result.stdout} {result.stderr}"


def test_designer_check_imports_only_what_it_needs():
    code = (
        "import sys; from designer.cli import main; "
        "status = main(['check', 'examples/unet.json']); "
        "print(sorted(m for m in sys.modules if m.startswith('designer.') or m in sys.argv[1:]))"
    )
    heavy = ["torch", "dearpygui", "jinja2", "onnx", "numpy", "PIL"]
    result = subprocess.run(
        [sys.executable, "-c", code, *heavy], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    loaded = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    commands = {m for m in loaded if m.startswith("designer.cli.")}
    assert commands == {"designer.cli.check", "designer.cli.common", "designer.cli.usage"}
    layers = {m.split(".")[1] for m in loaded}
    assert layers <= {"core", "blocks", "cli"}, layers
    assert not loaded & set(heavy)
