"""Tidying exported graphs: names, metadata, and the check that dynamic axes stayed dynamic."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from designer.interop.dynamic_axes import AxisError, require_dynamic
from designer.interop.onnx_graph import op_counts, sanitize, tidy, unique_names


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("x", "x"),
        ("input image", "input_image"),
        ("  logits (2 classes)!", "logits_2_classes"),
        ("3d volume", "_3d_volume"),
        ("???", "node_id"),
        ("Größe", "Gr_e"),
    ],
)
def test_labels_become_identifier_like_names(label, name):
    assert sanitize(label, "node_id") == name


def test_repeated_names_get_numbered():
    assert unique_names(["y", "y", "x", "y", "y_2"]) == ["y", "y_2", "x", "y_3", "y_2_2"]


def graph_with(batch_dim) -> onnx.ModelProto:
    """Relu then Shape; the input's first dimension is ``batch_dim`` (a name or a number)."""
    shape = [batch_dim, 3]
    relu = helper.make_node("Relu", ["x"], ["y"], name="torch_name")
    entry = relu.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.name_scopes", "['', 'block', 'block.act', 'relu']"
    size = helper.make_node("Shape", ["x"], ["s"], name="node_Shape_1")
    entry = size.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.name_scopes", "['_empty_nn_module_stack', 'sym']"
    graph = helper.make_graph(
        [relu, size],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    return helper.make_model(graph)


def test_tidy_names_nodes_by_module_and_sets_metadata():
    model = graph_with("batch")
    tidy(model, graph_name="net", doc="about", metadata={"designer.version": "9"})
    relu, size = model.graph.node
    assert (relu.name, size.name) == ("block.act/Relu", "Shape")
    assert not relu.metadata_props and not size.metadata_props
    assert {p.key: p.value for p in model.metadata_props} == {"designer.version": "9"}
    assert (model.graph.name, model.doc_string) == ("net", "about")
    assert op_counts(model) == {"Relu": 1, "Shape": 1}


def test_an_axis_the_exporter_fixed_is_an_error():
    require_dynamic(graph_with("batch"), [{0: "batch"}])
    with pytest.raises(AxisError, match="fixed the batch of input 'x' to the traced size"):
        require_dynamic(graph_with(2), [{0: "batch"}])
