"""Shared checks for codegen tests: exec a generated file, compare it with the live model."""

from __future__ import annotations

import torch

import designer
from designer import Design
from designer.core.fileformat import dumps


def exec_source(source: str, filename: str = "<generated>") -> dict:
    """Run generated source in a fresh namespace and return it."""
    namespace: dict = {"__name__": "generated"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def assert_equivalent(design: Design, input_shapes: dict | None = None, seed: int = 0) -> str:
    """Generated and live models: strict weight loading both ways, equal outputs and counts."""
    source = designer.generate_code(design, input_shapes=input_shapes)
    live = designer.build(design, "cpu", input_shapes)
    torch.manual_seed(seed)
    for p in live.parameters():  # non-trivial weights, running statistics included
        p.data.normal_(0, 0.2)
    for name, buf in live.named_buffers():
        if name.endswith("running_var"):
            buf.uniform_(0.5, 1.5)
        elif name.endswith("running_mean"):
            buf.normal_(0, 0.1)
    generated = exec_source(source)[live.plan.model.name]()
    generated.load_state_dict(live.state_dict(), strict=True)
    live.load_state_dict(generated.state_dict(), strict=True)
    assert list(generated.state_dict()) == list(live.state_dict())
    count = sum(p.numel() for p in live.parameters())
    assert sum(p.numel() for p in generated.parameters()) == count == live.plan.report.total_params
    live.eval(), generated.eval()
    inputs = live.example_inputs(batch=2)
    with torch.no_grad():
        expected, got = live(*inputs), generated(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(expected) == len(got)
    for a, b in zip(expected, got, strict=True):
        assert a.shape == b.shape and torch.equal(a, b), (
            f"generated != live ({tuple(a.shape)} vs {tuple(b.shape)}) for\n{dumps(design)}"
        )
    return source
