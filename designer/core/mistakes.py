"""Likely mistakes: designs that validate but are almost surely not what was meant.

Checked after inference, each finding is a warning with its fix (warnings never block a run or
an export): a Linear fed an image (it mixes only the last, spatial, dimension), Dropout with
p=1, a Softmax over the batch, a Softmax fed a Softmax, and an activation squashing the scores
right before a Softmax. An Add whose branches disagree on channels stays an error, explained
anew: it names both branches and offers the 1x1 convolution that reconciles them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from designer.core.graph import Design
from designer.core.report import Issue, NodeInfo, Report
from designer.core.tensor import TensorSpec

# Blocks whose 4-D or 5-D output is channels-first (N×C×H×W): a Linear after one acts on W.
_IMAGE_BLOCKS = frozenset(
    {
        "Input",
        "Conv2d",
        "Conv3d",
        "ConvTranspose2d",
        "ConvTranspose3d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool2d",
        "AvgPool3d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool2d",
        "BatchNorm2d",
        "BatchNorm3d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "LayerNorm2d",
        "Dropout2d",
        "Dropout3d",
        "Upsample",
        "PixelShuffle",
        "PixelUnshuffle",
        "ChannelShuffle",
        "PadToMatch",
    }
)
# Blocks that keep their first input's layout: look through them for the block that made it.
_KEEP_LAYOUT = frozenset(
    {
        "ReLU",
        "ReLU6",
        "LeakyReLU",
        "ELU",
        "GELU",
        "SiLU",
        "Mish",
        "Hardswish",
        "Softplus",
        "Sigmoid",
        "Tanh",
        "PReLU",
        "Identity",
        "Dropout",
        "DropPath",
        "GroupNorm",
        "Add",
        "Multiply",
        "Scale",
        "AddScalar",
    }
)
_SOFTMAX = frozenset({"Softmax", "LogSoftmax"})
_SQUASHING = frozenset({"ReLU", "ReLU6", "Sigmoid", "Tanh"})
_DROPOUT = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "DropPath"})
_LOOK_BACK = 16  # layout-keeping blocks to look through before giving up


def review(design: Design, report: Report) -> list[Issue]:
    """The report's issues, Add's channel errors explained, likely mistakes appended."""
    issues = report.issues
    if any(i.block == "Add" and i.code == "channels" for i in issues):
        issues = [_explain_add(design, report, i) for i in issues]
    checked = [(n, info) for n, info in report.nodes.items() if info.block in _CHECKS]
    found = [_CHECKS[info.block](design, report, n, info) for n, info in checked if n in design]
    found = [issue for issue in found if issue is not None]
    return [*issues, *found] if found else issues


# -- the checks ---------------------------------------------------------------------------------


def _linear_on_image(design: Design, report: Report, node_id: str, info: NodeInfo):
    spec = info.in_specs[0] if info.in_specs else None
    if spec is None or spec.rank not in (4, 5) or not _image_source(design, report, node_id):
        return None
    dims = "C×H×W" if spec.rank == 4 else "C×D×H×W"
    width, features = _size(spec, -1), _features(spec)
    width = "W" if width is None else f"W={width}"
    pool = f"AdaptiveAvgPool{spec.rank - 2}d(1)"
    return _warning(
        node_id,
        "Linear",
        "linear-on-image",
        f"Linear acts on the last dimension ({width}) only; did you mean Flatten first?",
        f"insert Flatten before it to use all {dims}{features} features, or {pool} then "
        "Flatten for a classifier head",
        port="in",
    )


def _dropout_all(design: Design, report: Report, node_id: str, info: NodeInfo):
    if info.values.get("p") != 1:
        return None
    return _warning(
        node_id,
        info.block,
        "dropout-all",
        "p=1 drops everything while training: only zeros reach the next layer",
        "lower p (0.1 to 0.5 is usual), or delete the block",
        param="p",
    )


def _softmax(design: Design, report: Report, node_id: str, info: NodeInfo):
    spec = info.in_specs[0] if info.in_specs else None
    dim = info.values.get("dim")
    if spec is None or not isinstance(dim, int) or not -spec.rank <= dim < spec.rank:
        return None
    if spec.rank > 1 and dim % spec.rank == 0:
        return _warning(
            node_id,
            info.block,
            "softmax-batch",
            f"dim={dim} is the batch dimension: the values would sum to one across the "
            "samples of a batch, not within each sample",
            "use dim=1 for class scores (N×classes) or dim=-1 for the last dimension",
            param="dim",
        )
    source = _source(design, report, node_id, "in")
    if source is None:
        return None
    src, src_info = source
    if src_info.block in _SOFTMAX and _same_dim(src_info, spec, dim):
        return _warning(
            node_id,
            info.block,
            "softmax-twice",
            f"its input is already {src_info.block}'s output (`{src}`) over the same dimension",
            f"delete one of them: {info.block} takes raw scores (logits)",
            port="in",
        )
    if src_info.block in _SQUASHING:
        return _warning(
            node_id,
            info.block,
            "activation-before-softmax",
            f"{src_info.block} (`{src}`) squashes the scores before {info.block}: the "
            "probabilities come out flattened",
            f"feed {info.block} the raw scores (delete `{src}` or move it elsewhere)",
            port="in",
        )
    return None


Check = Callable[[Design, Report, str, NodeInfo], "Issue | None"]
_CHECKS: dict[str, Check] = {
    "Linear": _linear_on_image,
    "Softmax": _softmax,
    "LogSoftmax": _softmax,
    **dict.fromkeys(_DROPOUT, _dropout_all),
}


# -- Add: branches that disagree on channels ----------------------------------------------------


def _explain_add(design: Design, report: Report, issue: Issue) -> Issue:
    """Add's channel error naming both branches and the 1x1 convolution that fixes it."""
    if issue.block != "Add" or issue.code != "channels" or issue.node not in design:
        return issue
    branches = []
    wires = design.inputs_of(issue.node)
    for port in sorted(wires, key=lambda p: (len(p), p)):  # in1, in2, ..., in10
        src, src_port = wires[port]
        spec = _output(report.nodes.get(src), src_port)
        if spec is None:
            return issue
        branches.append((port, src, spec))
    ranks = {spec.rank for _, _, spec in branches}
    blamed = next((b for b in branches if b[0] == issue.port), None)
    if blamed is None or len(ranks) != 1 or blamed[2].rank < 2 or blamed[2].rank == 3:
        return issue  # N×T×D sequences and N×C×L signals look alike: no channel advice there
    other = next((b for b in branches if _channels(b[2]) not in (_channels(blamed[2]), 1)), None)
    if other is None or None in (_channels(blamed[2]), _channels(other[2])):
        return issue
    narrow, wide = sorted((blamed, other), key=lambda b: _channels(b[2]))
    wanted, unit = _channels(wide[2]), "channels" if blamed[2].rank > 2 else "features"
    return replace(
        issue,
        message=f"branch `{other[1]}` gives {_channels(other[2])} {unit}, branch "
        f"`{blamed[1]}` gives {_channels(blamed[2])}: Add needs them equal",
        hint=f"insert {_projection(narrow[2].rank, wanted)} after `{narrow[1]}` (a projection "
        f"shortcut), or give both branches {wanted} {unit}",
    )


def _projection(rank: int, channels: int) -> str:
    if rank == 2:
        return f"a Linear (out_features={channels})"
    return f"a 1x1 Conv{rank - 2}d (out_channels={channels}, kernel_size=1)"


# -- helpers ------------------------------------------------------------------------------------


def _warning(node_id: str, block: str, code: str, message: str, hint: str, **where) -> Issue:
    return Issue(
        node_id, where.get("port"), block, code, message, hint, "warning", where.get("param")
    )


def _source(design: Design, report: Report, node_id: str, port: str):
    """The node wired into ``port`` and its NodeInfo, or None."""
    wire = design.inputs_of(node_id).get(port)
    if wire is None or wire[0] not in report.nodes:
        return None
    return wire[0], report.nodes[wire[0]]


def _image_source(design: Design, report: Report, node_id: str) -> bool:
    """Whether the first input comes from a channels-first image block (through blocks that
    keep the layout)."""
    for _ in range(_LOOK_BACK):
        inputs = design.inputs_of(node_id)
        wire = inputs.get("in", inputs.get("in1"))
        if wire is None or wire[0] not in report.nodes:
            return False
        node_id, block = wire[0], report.nodes[wire[0]].block
        if block in _IMAGE_BLOCKS:
            return True
        if block not in _KEEP_LAYOUT:
            return False
    return False


def _output(info: NodeInfo | None, port: str) -> TensorSpec | None:
    if info is None or port not in info.ports:
        return None
    index = info.ports.index(port)
    return info.out_specs[index] if index < len(info.out_specs) else None


def _same_dim(src_info: NodeInfo, spec: TensorSpec, dim: int) -> bool:
    src_dim = src_info.values.get("dim")
    return isinstance(src_dim, int) and src_dim % spec.rank == dim % spec.rank


def _channels(spec: TensorSpec) -> int | None:
    return _size(spec, 1)


def _size(spec: TensorSpec, axis: int) -> int | None:
    value = spec.shape[axis]
    return value if isinstance(value, int) else None


def _features(spec: TensorSpec) -> str:
    sizes = spec.shape[1:]
    if not all(isinstance(d, int) for d in sizes):
        return ""
    total = 1
    for d in sizes:
        total *= d
    return f" = {total:,}"
