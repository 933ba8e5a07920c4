"""The core stays pure: importing it pulls in neither torch nor dearpygui."""

from __future__ import annotations

import subprocess
import sys

import pytest


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
