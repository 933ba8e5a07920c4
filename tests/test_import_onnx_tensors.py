"""ONNX import of tensor ops, token embeddings and learned tensors (``tensors`` and ``embedding``
converters): each small graph against onnxruntime, and what they refuse, with the reason."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from test_import_onnx import imported_model, outputs, run_onnx

from designer.interop.importer import ImportFailed
from designer.interop.onnx_import import import_onnx


def graph(nodes, initializers=(), shape=(2, 4, 6, 5), dtype=TensorProto.FLOAT) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", dtype, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    made = helper.make_graph(nodes, "ops", [x], [y], list(initializers))
    return helper.make_model(made, opset_imports=[helper.make_opsetid("", 17)])


def ints(name: str, *values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def table(name: str, *shape) -> onnx.TensorProto:
    rng = np.random.default_rng(len(shape))
    return numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)


def types(result) -> list[str]:
    return [result.design.node(n)["type"] for n in result.design.node_ids()]


def check(model: onnx.ModelProto, x: np.ndarray):
    """Import ``model``; the live model gives onnxruntime's output for ``x``."""
    result = import_onnx(model)
    (want,) = run_onnx(model, {"x": x})
    got = outputs(imported_model(result), torch.from_numpy(x))[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    return result


def transpose(*perm: int) -> onnx.NodeProto:
    return helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))


FLOAT_CASES = {  # nodes, initializers, the block expected
    "transpose of two axes": ([transpose(0, 1, 3, 2)], [], "Transpose"),
    "permutation": ([transpose(0, 2, 3, 1)], [], "Permute"),
    "select one index": (
        [helper.make_node("Gather", ["x", "i"], ["y"], axis=2)],
        [numpy_helper.from_array(np.array(-1, dtype=np.int64), "i")],
        "Select",
    ),
    "unsqueeze": ([helper.make_node("Unsqueeze", ["x", "a"], ["y"])], [ints("a", 2)], "Unsqueeze"),
    "slice with a step": (
        [helper.make_node("Slice", ["x", "s", "e", "a", "k"], ["y"])],
        [ints("s", 1), ints("e", 2**63 - 1), ints("a", -1), ints("k", 2)],
        "Slice",
    ),
    "positional embedding added": (
        [helper.make_node("Add", ["x", "pos_embedding.weight"], ["y"])],
        [table("pos_embedding.weight", 1, 4, 6, 5)],
        "Parameter",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FLOAT_CASES))
def test_a_tensor_op_matches_onnxruntime(case):
    nodes, initializers, block = FLOAT_CASES[case]
    x = np.random.default_rng(1).normal(size=(2, 4, 6, 5)).astype(np.float32)
    assert block in types(check(graph(nodes, initializers), x))


def test_token_ids_look_up_an_embedding_and_a_class_token_is_repeated_over_the_batch():
    nodes = [
        helper.make_node("Gather", ["embed.weight", "x"], ["e"], name="embed/Gather"),
        helper.make_node("Concat", ["cls", "e"], ["c"], axis=1),
        helper.make_node("Add", ["c", "pos.weight"], ["y"]),
    ]
    initializers = [
        table("embed.weight", 20, 8),
        table("cls", 1, 1, 8),
        table("pos.weight", 1, 6, 8),
    ]
    model = graph(nodes, initializers, shape=(1, 5), dtype=TensorProto.INT64)
    x = np.random.default_rng(0).integers(0, 20, (1, 5))
    result = check(model, x)
    assert {"Embedding", "ExpandBatch", "Concat", "Parameter"} <= set(types(result))
    assert result.design.node("x")["params"]["dtype"] == "int64"
    assert sum(a.numel() for a in result.state_dict.values()) == 20 * 8 + 8 + 6 * 8
    batch = np.random.default_rng(1).integers(0, 20, (3, 5))  # the design takes any batch
    together = outputs(imported_model(result), torch.from_numpy(batch))[0]
    for row in range(3):
        alone = outputs(imported_model(result), torch.from_numpy(batch[row : row + 1]))[0]
        np.testing.assert_allclose(together[row : row + 1], alone, rtol=1e-6, atol=1e-6)


def test_a_head_reading_the_embedding_table_stays_tied_to_it():
    nodes = [
        helper.make_node("Gather", ["wte.weight", "x"], ["e"], name="wte/Gather"),
        helper.make_node("Transpose", ["wte.weight"], ["t"], perm=[1, 0]),
        helper.make_node("MatMul", ["e", "t"], ["y"]),
    ]
    model = graph(nodes, [table("wte.weight", 12, 4)], shape=(2, 3), dtype=TensorProto.INT64)
    result = check(model, np.random.default_rng(0).integers(0, 12, (2, 3)))
    assert {"Parameter", "EmbeddingLookup", "TiedLinear"} <= set(types(result))
    assert result.design_params == 12 * 4  # one table, read twice


REFUSED = {  # nodes, initializers, what the message says
    "moving the batch": (
        [transpose(1, 0, 2, 3)],
        [],
        "moving the batch axis",
    ),
    "several indices": (
        [helper.make_node("Gather", ["x", "i"], ["y"], axis=1)],
        [ints("i", 0, 2)],
        "Select takes one",
    ),
    "two axes inserted": (
        [helper.make_node("Unsqueeze", ["x", "a"], ["y"])],
        [ints("a", 1, 2)],
        "Unsqueeze inserts one",
    ),
    "slice of the batch": (
        [helper.make_node("Slice", ["x", "s", "e", "a"], ["y"])],
        [ints("s", 0), ints("e", 1), ints("a", 0)],
        "the batch axis",
    ),
    "float ids": (
        [helper.make_node("Gather", ["t", "x"], ["y"])],
        [table("t", 10, 3)],
        "integer ids",
    ),
    "a batch of constants concatenated": (
        [helper.make_node("Concat", ["c", "x"], ["y"], axis=1)],
        [table("c", 2, 1, 6, 5)],
        "batch size 1",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_no_block_expresses_is_refused_with_the_reason(case):
    nodes, initializers, reason = REFUSED[case]
    with pytest.raises(ImportFailed, match=reason):
        import_onnx(graph(nodes, initializers))
