"""``designer place`` and ``designer import`` as a user runs them."""

from __future__ import annotations

import pytest
from common import EXAMPLES, ROOT

import designer
from designer.cli import main

MODELS = ROOT / "tests" / "import_models.py"
SEED_UNET = f"{MODELS}:UNet"


def test_place_splits_the_unet_and_lists_the_cut_wires(tmp_path, capsys):
    out = tmp_path / "placed.json"
    assert main(["place", str(EXAMPLES / "unet.json"), "--devices", "cpu,cpu", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cut wire(s)" in printed and "stage 0 -> 1" in printed
    placed = designer.load(out)
    assert placed.meta["stages"] == ["cpu", "cpu"]
    tags = {placed.node(n).get("device") for n in placed.node_ids()}
    assert tags == {"0", "1"}


@pytest.mark.parametrize(
    ("devices", "message"),
    [("gpu", "give devices separated by commas"), ("", "give devices separated by commas")],
)
def test_place_refuses_a_bad_device_list(tmp_path, capsys, devices, message):
    out = str(tmp_path / "p.json")
    assert main(["place", str(EXAMPLES / "unet.json"), "--devices", devices, "-o", out]) == 2
    assert message in capsys.readouterr().err


def test_import_writes_the_design_and_its_weights(tmp_path, capsys):
    out = tmp_path / "unet.json"
    args = ["--args", "n_channels=3,n_classes=2,base=8", "--input-shape", "2,3,64,64"]
    argv = ["import", SEED_UNET, *args, "-o", str(out)]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    design = designer.load(out)
    assert {"DoubleConv", "Down", "Up", "OutConv"} <= set(design.blocks)
    from safetensors.torch import load_file

    model = designer.build(design, "cpu")
    model.load_state_dict(load_file(tmp_path / "unet.safetensors"), strict=True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nowhere.py:Net", "--input-shape", "1,3,8,8"], "nowhere.py: no such file"),
        (
            [f"{ROOT / 'tests' / 'import_models.py'}:Missing", "--input-shape", "1,3,8,8"],
            "has no callable",
        ),
        ([f"{MODELS}:Branchy"], "give --input-shape"),  # two inputs: no guess
        ([SEED_UNET, "--args", "base=2", "--input-shape", "1,3,64,64"], "failed: TypeError"),
        (["no_colon", "--input-shape", "1,3,8,8"], "write package.module:callable"),
    ],
)
def test_import_explains_a_source_it_cannot_use(tmp_path, capsys, argv, message):
    assert main(["import", *argv, "-o", str(tmp_path / "d.json")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.json").exists()


def test_import_keeps_an_op_without_a_block_as_an_opaque_call(tmp_path, capsys):
    source = tmp_path / "odd.py"
    source.write_text(
        "import torch\nfrom torch import nn\n\n\nclass Odd(nn.Module):\n"
        "    def forward(self, x):\n        return torch.sin(x)\n"
    )
    argv = ["import", f"{source}:Odd", "--input-shape", "2,3,8,8", "-o", str(tmp_path / "d.json")]
    assert main(argv) == 0
    assert "torch.sin" in capsys.readouterr().out
    assert designer.load(tmp_path / "d.json").nodes_of_type("TorchFunction")
