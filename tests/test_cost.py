"""Per-node cost of the U-Net against a hand count (multiply-accumulates, parameters, memory)."""

from __future__ import annotations

import pytest
import torch
from common import EXAMPLES

import designer
from designer.core.cost import Cost, costs, human, total_cost


def double_conv_macs(size: int, cin: int, cout: int, mid: int | None = None) -> int:
    mid = mid or cout
    return size * size * 9 * (cin * mid + mid * cout)


@pytest.fixture(scope="module")
def unet():
    design = designer.load(EXAMPLES / "unet.json")
    return design, designer.validate(design, {"x": (1, 3, 572, 572)})


def test_unet_costs_match_a_hand_count(unet):
    table = costs(*unet)
    assert table["inc"].macs == double_conv_macs(572, 3, 64)
    assert table["down1"].macs == double_conv_macs(286, 64, 128)  # pooling adds none
    assert table["down4"].macs == double_conv_macs(35, 512, 1024)
    up1 = 35 * 35 * 1024 * 512 * 2 * 2 + double_conv_macs(71, 1024, 512)  # transposed conv + convs
    assert table["up1"].macs == up1
    assert table["outc"].macs == 572 * 572 * 64 * 2
    # DoubleConv keeps six tensors of 64×572×572 (conv, norm, ReLU twice)
    assert table["inc"].activations == 6 * 64 * 572 * 572
    assert table["inc"].activation_bytes(batch=2) == 2 * 4 * 6 * 64 * 572 * 572
    assert [table[n].params for n in ("inc", "up1", "outc")] == [38_848, 9_177_600, 130]


def test_unet_total(unet):
    total = total_cost(*unet)
    assert total.params == 31_037_698
    assert total.macs == sum(c.macs for c in costs(*unet).values())
    assert human(total.macs) == "238.8 G"


def test_linear_and_conv_macs_match_torch_flop_counter():
    b = designer.DesignBuilder()
    x = b.input((3, 16, 16))
    h = b.add("Conv2d", x, node_id="conv", out_channels=8, stride=2, padding=1)
    h = b.add("ConvTranspose2d", h, node_id="up", out_channels=4, stride=2)
    h = b.add("Flatten", h, node_id="flat")
    b.output(b.add("Linear", h, node_id="fc", out_features=10))
    design = b.build()
    ours = total_cost(design, designer.validate(design)).macs
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.ConvTranspose2d(8, 4, 2, stride=2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 16 * 16, 10),
    )
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 16, 16))
    assert 2 * ours == counter.get_total_flops()


def test_cost_adds_up():
    assert Cost(1, 2, 3) + Cost(10, 20, 30) == Cost(11, 22, 33)
    assert human(3 * 1024**2, "B") == "3.0 MiB"


def test_cost_rows_sort_by_any_column():
    from designer.core.cost import cost_rows, sort_rows

    design = designer.load(EXAMPLES / "unet.json")
    report = designer.validate(design)
    rows = cost_rows(design, report, {"inc": 0.5})
    assert sum(r[2] for r in rows) == 31_037_698
    by_params = sort_rows(rows, "params", descending=True)
    assert by_params[0][2] == max(r[2] for r in rows)
    by_time = sort_rows(rows, "seconds")
    assert by_time[0][0] == "inc" and by_time[1][5] is None
    assert [r[0] for r in sort_rows(rows, "node")] == sorted(r[0] for r in rows)
