"""Regenerate the example designs with the builder API (run: python examples/build_examples.py).

The JSON files beside this script are its output and are committed; tests check they stay in sync.
"""

from __future__ import annotations

from pathlib import Path

from designer import Design, DesignBuilder, save
from designer.core.builder import expr
from designer.core.params import Int

HERE = Path(__file__).parent


def unet(
    bilinear: bool = False,
    n_channels: int = 3,
    n_classes: int = 2,
    base: int = 64,
    size: int = 572,
    name: str | None = None,
) -> Design:
    """The seed's U-Net, assembled from DoubleConv, Down, Up and OutConv (widths base..16*base)."""
    factor = 2 if bilinear else 1
    b = DesignBuilder(name or ("unet_bilinear" if bilinear else "unet"))
    x = b.input((n_channels, size, size), node_id="x")
    x1 = b.add("DoubleConv", x, node_id="inc", out_channels=base)
    x2 = b.add("Down", x1, node_id="down1", out_channels=2 * base)
    x3 = b.add("Down", x2, node_id="down2", out_channels=4 * base)
    x4 = b.add("Down", x3, node_id="down3", out_channels=8 * base)
    x5 = b.add("Down", x4, node_id="down4", out_channels=16 * base // factor)
    u = b.add("Up", x5, x4, node_id="up1", out_channels=8 * base // factor, bilinear=bilinear)
    u = b.add("Up", u, x3, node_id="up2", out_channels=4 * base // factor, bilinear=bilinear)
    u = b.add("Up", u, x2, node_id="up3", out_channels=2 * base // factor, bilinear=bilinear)
    u = b.add("Up", u, x1, node_id="up4", out_channels=base, bilinear=bilinear)
    logits = b.add("OutConv", u, node_id="outc", out_channels=n_classes)
    b.output(logits, node_id="logits")
    design = b.build()
    for node_id, pos in U_SHAPE.items():
        design.node(node_id)["pos"] = pos
    return design


def unet_small() -> Design:
    """The U-Net at base width 16 for the shapes set: 3x64x64 images, 4 classes."""
    return unet(n_classes=4, base=16, size=64, name="unet_small")


# Canvas positions drawing the U: the encoder steps down on the left, the decoder climbs on the
# right, and each skip connection runs straight across its level (rows 140 px apart).
U_SHAPE = {
    "x": (20.0, 0.0),
    "inc": (30.0, 110.0),
    "down1": (80.0, 250.0),
    "down2": (130.0, 390.0),
    "down3": (180.0, 530.0),
    "down4": (260.0, 670.0),
    "up1": (470.0, 530.0),
    "up2": (520.0, 390.0),
    "up3": (570.0, 250.0),
    "up4": (620.0, 110.0),
    "outc": (790.0, 110.0),
    "logits": (820.0, 250.0),
}


def resnet() -> Design:
    """A small residual network: a stem, three residual blocks with Add skips, a classifier head."""
    b = DesignBuilder("resnet")
    h = b.input((3, 64, 64), node_id="image")
    h = b.add("Conv2d", h, node_id="stem", out_channels=32, kernel_size=3, padding=1, bias=False)
    h = b.add("BatchNorm2d", h, node_id="stem_bn")
    h = b.add("ReLU", h, node_id="stem_relu")
    for i, (channels, stride) in enumerate(((32, 1), (64, 2), (128, 2)), start=1):
        skip = h
        y = b.add(
            "Conv2d",
            h,
            node_id=f"res{i}_conv1",
            out_channels=channels,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False,
        )
        y = b.add("BatchNorm2d", y, node_id=f"res{i}_bn1")
        y = b.add("ReLU", y, node_id=f"res{i}_relu1")
        y = b.add(
            "Conv2d",
            y,
            node_id=f"res{i}_conv2",
            out_channels=channels,
            kernel_size=3,
            padding=1,
            bias=False,
        )
        y = b.add("BatchNorm2d", y, node_id=f"res{i}_bn2")
        if stride != 1 or i > 1:
            skip = b.add(
                "Conv2d",
                skip,
                node_id=f"res{i}_proj",
                out_channels=channels,
                kernel_size=1,
                stride=stride,
                padding=0,
                bias=False,
            )
        h = b.add("Add", y, skip, node_id=f"res{i}_add")
        h = b.add("ReLU", h, node_id=f"res{i}_relu")
    h = b.add("AdaptiveAvgPool2d", h, node_id="pool", output_size=1)
    h = b.add("Flatten", h, node_id="flatten")
    h = b.add("Linear", h, node_id="fc", out_features=10)
    b.output(h, node_id="logits")
    return b.build()


def two_branch() -> Design:
    """The containers seed's network: two parallel branches, concatenated, then fused."""
    b = DesignBuilder("two_branch")
    x = b.input((16, 64, 64), node_id="inputs")
    x = b.add("Conv2d", x, node_id="conv_in", out_channels=32, kernel_size=3, padding=0)
    x1 = b.add("Conv2d", x, node_id="branch1_conv", out_channels=32, kernel_size=3, padding=1)
    x1 = b.add("ReLU", x1, node_id="branch1_relu")
    x2 = b.add("Conv2d", x, node_id="branch2_conv", out_channels=64, kernel_size=3, padding=1)
    x2 = b.add("LeakyReLU", x2, node_id="branch2_relu", negative_slope=0.2)
    x3 = b.add("Concat", x1, x2, node_id="cat", dim=1)
    x4 = b.add("Conv2d", x3, node_id="fuse", out_channels=64, kernel_size=3, padding=1)
    x5 = b.add("Conv2d", x4, node_id="head", out_channels=32, kernel_size=1, padding=0)
    b.output(x5, node_id="outputs")
    return b.build()


# MobileNetV2's inverted residual settings: expansion t, channels c, repeats n, first stride s.
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def conv_bn_act(b: DesignBuilder) -> None:
    """ConvBNAct: convolution (same padding, no bias), batch norm, ReLU6."""
    body = b.body("ConvBNAct")
    h = body.add(
        "Conv2d",
        body.input(),
        node_id="conv",
        out_channels=expr("out_channels"),
        kernel_size=expr("kernel_size"),
        stride=expr("stride"),
        padding=expr("(kernel_size - 1) // 2"),
        groups=expr("groups"),
        bias=False,
    )
    h = body.add("BatchNorm2d", h, node_id="bn")
    body.output(body.add("ReLU6", h, node_id="act"))
    params = (
        Int("out_channels", 32, "Output channels.", min=1),
        Int("kernel_size", 3, "Kernel size.", min=1),
        Int("stride", 1, "Stride.", min=1),
        Int("groups", 1, "Groups (the channels for a depthwise convolution).", min=1),
    )
    b.define("ConvBNAct", body, params=params, doc="Convolution, batch norm, ReLU6")


def inverted_residual(b: DesignBuilder) -> None:
    """MobileNetV2's block: expand, depthwise, project; the residual Add only where it fits."""
    body = b.body("InvertedResidual")
    x = body.input()
    hidden = "in_channels * expand_ratio"
    h = body.add(
        "ConvBNAct", x, node_id="expand", out_channels=expr(hidden), kernel_size=1,
        when="expand_ratio != 1",
    )  # fmt: skip
    h = body.add(
        "ConvBNAct", h, node_id="depthwise", out_channels=expr(hidden), kernel_size=3,
        stride=expr("stride"), groups=expr(hidden),
    )  # fmt: skip
    h = body.add(
        "Conv2d", h, node_id="project", out_channels=expr("out_channels"), kernel_size=1,
        padding=0, bias=False,
    )  # fmt: skip
    h = body.add("BatchNorm2d", h, node_id="project_bn")
    h = body.add(
        "Add", h, x, node_id="residual", when="stride == 1 and in_channels == out_channels"
    )
    body.output(h)
    params = (
        Int("out_channels", 16, "Output channels.", min=1),
        Int("stride", 1, "Stride of the depthwise convolution.", min=1, max=2),
        Int("expand_ratio", 6, "Hidden channels per input channel.", min=1),
    )
    doc = "Inverted residual: expand, depthwise, project; residual when shapes agree"
    b.define("InvertedResidual", body, params=params, doc=doc)


def mobilenet_v2(classes: int = 1000) -> Design:
    """MobileNetV2 (torchvision's, 3,504,872 parameters) with one InvertedResidual block type."""
    b = DesignBuilder("mobilenet_v2")
    conv_bn_act(b)
    inverted_residual(b)
    h = b.input((3, 224, 224), node_id="image")
    h = b.add("ConvBNAct", h, node_id="stem", out_channels=32, kernel_size=3, stride=2)
    for stage, (t, c, n, s) in enumerate(MOBILENET_V2, start=1):
        for i in range(n):
            h = b.add(
                "InvertedResidual", h, node_id=f"block{stage}_{i + 1}", out_channels=c,
                stride=s if i == 0 else 1, expand_ratio=t,
            )  # fmt: skip
    h = b.add("ConvBNAct", h, node_id="head", out_channels=1280, kernel_size=1)
    h = b.add("AdaptiveAvgPool2d", h, node_id="pool", output_size=1)
    h = b.add("Flatten", h, node_id="flatten")
    h = b.add("Dropout", h, node_id="dropout", p=0.2)
    b.output(b.add("Linear", h, node_id="classifier", out_features=classes), node_id="logits")
    return b.build()


def vit(image=32, patch=8, dim=64, depth=4, heads=4, mlp=128, classes=10) -> Design:
    """A Vision Transformer (tiny by default; ViT-B/16 is 224, 16, 768, 12, 12, 3072, 1000):
    patches, a class token, positions, pre-norm encoder layers as one Repeat node, a head on the
    class token."""
    tokens = (image // patch) ** 2 + 1
    b = DesignBuilder("vit")
    x = b.input((3, image, image), node_id="image")
    x = b.add("PatchEmbedding", x, node_id="patches", embed_dim=dim, patch_size=patch)
    cls = b.add("Parameter", node_id="cls_token", shape=[1, 1, dim], init="zeros")
    cls = b.add("ExpandBatch", cls, x, node_id="cls_tokens")
    x = b.add("Concat", cls, x, node_id="sequence", dim=1)
    pos = b.add("Parameter", node_id="pos_embedding", shape=[1, tokens, dim], init="normal")
    x = b.add("Add", x, pos, node_id="positioned")
    x = b.add(
        "TransformerEncoderLayer", x, node_id="encoder", repeat=depth, nhead=heads,
        dim_feedforward=mlp, dropout=0.0, activation="gelu", norm_first=True,
    )  # fmt: skip
    x = b.add("LayerNorm", x, node_id="norm")
    x = b.add("Select", x, node_id="class_token", dim=1, index=0)
    b.output(b.add("Linear", x, node_id="head", out_features=classes), node_id="logits")
    return b.build()


def gpt(vocab=256, context=32, dim=64, depth=2, heads=4, tied=True) -> Design:
    """A GPT-2 style decoder (tiny by default; GPT-2 small is 50257, 1024, 768, 12, 12): token
    and position embeddings, causal pre-norm blocks as one Repeat node, an LM head tied to the
    token table (one Parameter read by the lookup and the head) or its own Linear."""
    b = DesignBuilder("gpt")
    ids = b.input((context,), node_id="tokens", dtype="int64")
    wte = b.add("Parameter", node_id="wte", shape=[vocab, dim], init="normal")
    x = b.add("EmbeddingLookup", ids, wte, node_id="token_embedding")
    wpe = b.add("Parameter", node_id="wpe", shape=[1, context, dim], init="normal")
    x = b.add("Add", x, wpe, node_id="positioned")
    x = b.add("TransformerBlock", x, node_id="blocks", repeat=depth, num_heads=heads, causal=True)
    x = b.add("LayerNorm", x, node_id="ln_f")
    if tied:
        x = b.add("TiedLinear", x, wte, node_id="lm_head")
    else:
        x = b.add("Linear", x, node_id="lm_head", out_features=vocab, bias=False)
    b.output(x, node_id="logits")
    return b.build()


def lstm_classifier(vocab=100, embed=32, hidden=48, classes=5, length=12) -> Design:
    """Token ids -> Embedding -> 2-layer bidirectional LSTM -> the last step -> Linear."""
    b = DesignBuilder("lstm_classifier")
    x = b.input((length,), node_id="tokens", dtype="int64")
    x = b.add("Embedding", x, node_id="embed", num_embeddings=vocab, embedding_dim=embed)
    x = b.add("LSTM", x, node_id="lstm", hidden_size=hidden, num_layers=2, bidirectional=True)
    x = b.add("Select", x, node_id="last_step", dim=1, index=-1)
    b.output(b.add("Linear", x, node_id="head", out_features=classes), node_id="logits")
    return b.build()


EXAMPLES = {
    "unet.json": unet,
    "unet_bilinear.json": lambda: unet(bilinear=True),
    "resnet.json": resnet,
    "two_branch.json": two_branch,
    "unet_small.json": unet_small,
    "mobilenet_v2.json": mobilenet_v2,
    "vit.json": vit,
    "gpt.json": gpt,
    "lstm_classifier.json": lstm_classifier,
}


def main() -> None:
    for name, make in EXAMPLES.items():
        save(make(), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
