"""Convolutions: Conv1d/2d/3d and ConvTranspose1d/2d/3d."""

from __future__ import annotations

from math import prod

from designer.core.forms import TorchModule, keywords
from designer.core.params import MAX_SIZE, Bool, Choice, Int, Ints
from designer.core.registry import BlockSpec, register
from designer.core.shapes import ShapeError, conv_out, conv_transpose_out, expand, require_rank

_AXES = {1: ("long",), 2: ("high", "wide"), 3: ("deep", "high", "wide")}


def _channels(p, shape, what: str) -> int:
    """Check groups against the inferred input channels; return them."""
    c = shape[1]
    if c % p["groups"] or p["out_channels"] % p["groups"]:
        raise ShapeError(
            f"{what}: groups={p['groups']} must divide both the {c} input and "
            f"{p['out_channels']} output channels",
            "choose groups that divides both channel counts",
            code="channels",
        )
    return c


def _window_error(axis: str, size: int, k: int, pad: int, dil: int) -> ShapeError:
    return ShapeError(
        f"the input is {size} {axis}, smaller than the kernel ({k}, dilation {dil}, padding {pad})",
        "use a smaller kernel, more padding, or a larger input",
        code="kernel",
    )


def _sides(pad, k: int, d: int) -> tuple[int, int]:
    """Padding before and after an axis (``pad``: its padding, or 'same' or 'valid'); 'same'
    puts the odd element after, as torch does."""
    if pad == "same":
        total = d * (k - 1)
        return total // 2, total - total // 2
    if pad == "valid":
        return 0, 0
    return pad, pad


def _check_padding_mode(mode: str, size: int, pad: int, axis: str) -> None:
    """Reflect padding must stay inside the input, circular may wrap around once at most."""
    need = {"reflect": pad + 1, "circular": pad}.get(mode, 0)  # replicate repeats the border
    if size < need:
        raise ShapeError(
            f"{mode} padding of {pad} needs an input of at least {need}, it is {size} {axis}",
            f"lower padding to {size - 1 if mode == 'reflect' else size} or less, or use "
            "padding_mode 'zeros' or 'replicate'",
            code="kernel",
        )


def conv_shape(n: int):
    def rule(p, shapes):
        (shape,) = shapes
        require_rank(shape, (n + 2,), f"Conv{n}d")
        _channels(p, shape, f"Conv{n}d")
        k = expand(p["kernel_size"], n, "kernel_size")
        s = expand(p["stride"], n, "stride")
        d = expand(p["dilation"], n, "dilation")
        if p["padding"] == "same" and any(v != 1 for v in s):
            raise ShapeError(
                "padding='same' needs stride 1",
                "set stride to 1 or give padding as numbers",
                code="param",
            )
        pad = p["padding"]
        pads = (pad,) * n if isinstance(pad, str) else expand(pad, n, "padding")
        out = []
        for i, size in enumerate(shape[2:]):
            before, after = _sides(pads[i], k[i], d[i])
            if p["padding_mode"] != "zeros":
                _check_padding_mode(p["padding_mode"], size, max(before, after), _AXES[n][i])
            if size + before + after < d[i] * (k[i] - 1) + 1:
                raise _window_error(_AXES[n][i], size, k[i], before, d[i])
            out.append(conv_out(size + before + after, k[i], s[i], 0, d[i]))
        return (shape[0], p["out_channels"], *out)

    return rule


def conv_transpose_shape(n: int):
    def rule(p, shapes):
        (shape,) = shapes
        require_rank(shape, (n + 2,), f"ConvTranspose{n}d")
        _channels(p, shape, f"ConvTranspose{n}d")
        k, s, pad, opad, d = (
            expand(p[name], n, name)
            for name in ("kernel_size", "stride", "padding", "output_padding", "dilation")
        )
        out = []
        for i, size in enumerate(shape[2:]):
            if opad[i] >= s[i] and opad[i] >= d[i]:
                raise ShapeError(
                    f"output_padding {opad[i]} must be smaller than the stride ({s[i]}) "
                    f"or the dilation ({d[i]})",
                    f"lower output_padding below {max(s[i], d[i])}",
                    code="param",
                )
            length = conv_transpose_out(size, k[i], s[i], pad[i], opad[i], d[i])
            if length < 1:
                raise ShapeError(
                    f"output would be {length} {_AXES[n][i]}: padding {pad[i]} is too large",
                    "lower padding",
                    code="kernel",
                )
            out.append(length)
        return (shape[0], p["out_channels"], *out)

    return rule


def _count(transposed: bool, n: int):
    def count(p, shapes):
        c = shapes[0][1]
        k = prod(expand(p["kernel_size"], n, "kernel_size"))
        weights = c * p["out_channels"] // p["groups"] * k
        return weights + (p["out_channels"] if p["bias"] else 0)

    return count


def _macs(transposed: bool, n: int):
    """Per sample: each weight meets every output (conv) or input (transposed) position once."""

    def macs(p, in_shapes, out_shapes):
        positions = prod(in_shapes[0][2:] if transposed else out_shapes[0][2:])
        k = prod(expand(p["kernel_size"], n, "kernel_size"))
        return positions * in_shapes[0][1] * p["out_channels"] // p["groups"] * k

    return macs


def _conv_args(p, shapes):
    defaults = {
        "stride": 1,
        "padding": 0,
        "dilation": 1,
        "groups": 1,
        "bias": True,
        "padding_mode": "zeros",
    }
    return (shapes[0][1], p["out_channels"]), keywords(p, defaults, always=("kernel_size",))


def _conv_transpose_args(p, shapes):
    defaults = {
        "stride": 1,
        "padding": 0,
        "output_padding": 0,
        "groups": 1,
        "bias": True,
        "dilation": 1,
    }
    return (shapes[0][1], p["out_channels"]), keywords(p, defaults, always=("kernel_size",))


def _common(n: int, kernel: int, padding_choices: tuple = ()):
    return (
        Int(
            "out_channels",
            64,
            "Output channels (input channels are inferred).",
            min=1,
            max=MAX_SIZE,
        ),
        Ints("kernel_size", kernel, "Size of the convolving kernel.", n, min=1, max=1024),
        Ints(
            "stride",
            1,
            "Stride of the convolution.",
            n,
            min=1,
            max=1024,
        ),
        Ints(
            "padding",
            0,
            "Zero-padding added to both sides"
            + (" ('same' keeps the size at stride 1)." if padding_choices else "."),
            n,
            min=0,
            max=1024,
            choices=padding_choices,
        ),
        Ints("dilation", 1, "Spacing between kernel elements.", n, min=1, max=1024),
        Int("groups", 1, "Blocked connections from input to output channels.", min=1, max=MAX_SIZE),
        Bool("bias", True, "Add a learnable bias."),
    )


for _n in (1, 2, 3):
    register(
        BlockSpec(
            name=f"Conv{_n}d",
            category="Convolution",
            doc=f"{_n}-D convolution over a N×C×{'×'.join('DHW'[3 - _n :])} input.",
            params=(
                *_common(_n, 3, ("same", "valid")),
                Choice(
                    "padding_mode",
                    "zeros",
                    "How the border is padded.",
                    ("zeros", "reflect", "replicate", "circular"),
                ),
            ),
            shape=conv_shape(_n),
            count=_count(False, _n),
            macs=_macs(False, _n),
            torch=TorchModule(f"Conv{_n}d", _conv_args),
        )
    )
    _base = _common(_n, 2)
    register(
        BlockSpec(
            name=f"ConvTranspose{_n}d",
            category="Convolution",
            doc=f"{_n}-D transposed convolution (learned upsampling).",
            params=(
                *_base[:4],
                Ints(
                    "output_padding",
                    0,
                    "Extra size added to one side of the output.",
                    _n,
                    min=0,
                    max=1024,
                ),
                *_base[4:],
            ),
            shape=conv_transpose_shape(_n),
            count=_count(True, _n),
            macs=_macs(True, _n),
            torch=TorchModule(f"ConvTranspose{_n}d", _conv_transpose_args),
        )
    )
