"""Pooling: MaxPool1d/2d/3d, AvgPool1d/2d/3d and adaptive average/max pooling."""

from __future__ import annotations

from designer.core.forms import TorchModule, keywords
from designer.core.params import Bool, Ints
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, expand, pool_out, require_rank

_AXES = {1: ("long",), 2: ("high", "wide"), 3: ("deep", "high", "wide")}


def _check_padding(pad: int, k: int, dilated: bool) -> None:
    """torch bounds padding by half the kernel_size (not the dilated window)."""
    if pad > k // 2:
        raise ShapeError(
            f"padding {pad} is more than half the kernel_size {k}"
            + (" (dilation does not widen this limit)" if dilated else ""),
            f"lower padding to at most {k // 2}, or enlarge kernel_size",
            code="param",
        )


def pool_shape(n: int, name: str, dilated: bool):
    # torch's 3-D average pooling also needs the window to fit in the unpadded input
    unpadded = name == "AvgPool3d"

    def rule(p, shapes):
        (shape,) = shapes
        require_rank(shape, (n + 2,), name)
        k = expand(p["kernel_size"], n, "kernel_size")
        s = k if p["stride"] is None else expand(p["stride"], n, "stride")
        pad = expand(p["padding"], n, "padding")
        d = expand(p["dilation"], n, "dilation") if dilated else (1,) * n
        out = []
        for i, size in enumerate(shape[2:]):
            _check_padding(pad[i], k[i], dilated)
            length = pool_out(size, k[i], s[i], pad[i], d[i], p["ceil_mode"])
            if length < 1 or (unpadded and size < k[i]):
                window = d[i] * (k[i] - 1) + 1
                raise ShapeError(
                    f"the input is {size} {_AXES[n][i]}, smaller than the pooling window "
                    f"{window}" + (" (padding does not count here)" if unpadded else ""),
                    "use a smaller kernel_size or a larger input",
                    code="kernel",
                )
            out.append(length)
        return (*shape[:2], *out)

    return rule


def adaptive_shape(n: int, name: str):
    def rule(p, shapes):
        (shape,) = shapes
        require_rank(shape, (n + 2,), name)
        return (*shape[:2], *expand(p["output_size"], n, "output_size"))

    return rule


def _window(n: int, kernel: int):
    return (
        Ints("kernel_size", kernel, "Size of the pooling window.", n, min=1, max=1024),
        Ints(
            "stride",
            None,
            "Step of the window (default: kernel_size).",
            n,
            min=1,
            max=1024,
            optional=True,
        ),
        Ints("padding", 0, "Implicit padding on both sides.", n, min=0, max=512),
    )


_CEIL = Bool("ceil_mode", False, "Round the output size up instead of down.")
_MAX_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
_AVG_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}

for _n in (1, 2, 3):
    register(
        BlockSpec(
            name=f"MaxPool{_n}d",
            category="Pooling",
            doc=f"Maximum over {_n}-D windows.",
            params=(
                *_window(_n, 2),
                Ints("dilation", 1, "Spacing between window elements.", _n, min=1, max=1024),
                _CEIL,
            ),
            shape=pool_shape(_n, f"MaxPool{_n}d", dilated=True),
            torch=TorchModule(
                f"MaxPool{_n}d", lambda p, s: ((p["kernel_size"],), keywords(p, _MAX_DEFAULTS))
            ),
        )
    )
    register(
        BlockSpec(
            name=f"AvgPool{_n}d",
            category="Pooling",
            doc=f"Average over {_n}-D windows.",
            params=(
                *_window(_n, 2),
                _CEIL,
                Bool("count_include_pad", True, "Count padded zeros in the average."),
            ),
            shape=pool_shape(_n, f"AvgPool{_n}d", dilated=False),
            torch=TorchModule(
                f"AvgPool{_n}d", lambda p, s: ((p["kernel_size"],), keywords(p, _AVG_DEFAULTS))
            ),
        )
    )


def _onnx_global_only(p, shapes):
    """torch's ONNX exporter writes AdaptiveAvgPool3d only as global pooling."""
    if set(expand(p["output_size"], 3, "output_size")) != {1}:
        return "torch's ONNX exporter handles AdaptiveAvgPool3d only with output_size 1", (
            "use output_size 1 (global pooling) or AvgPool3d with a fixed window"
        )
    return None


def _onnx_divisible(p, shapes):
    """torch's ONNX exporter writes AdaptiveMaxPool2d only when the output divides the input."""
    out = expand(p["output_size"], 2, "output_size")
    if any(size % o for size, o in zip(shapes[0][2:], out, strict=True)):
        return (
            "torch's ONNX exporter handles AdaptiveMaxPool2d only when output_size divides "
            "the input size",
            "choose an output_size that divides the input, or use MaxPool2d",
        )
    return None


_ONNX = {"AdaptiveAvgPool3d": _onnx_global_only, "AdaptiveMaxPool2d": _onnx_divisible}

for _kind, _n in (("Avg", 1), ("Avg", 2), ("Avg", 3), ("Max", 2)):
    _name = f"Adaptive{_kind}Pool{_n}d"
    register(
        BlockSpec(
            name=_name,
            category="Pooling",
            doc=f"{_kind.replace('Avg', 'Average')} pooling to a fixed output size "
            f"(e.g. 1 for global pooling).",
            params=(Ints("output_size", 1, "Size of the output.", _n, min=1, max=65536),),
            shape=adaptive_shape(_n, _name),
            torch=TorchModule(_name, lambda p, s: ((p["output_size"],), {})),
            onnx=_ONNX.get(_name),
        )
    )
