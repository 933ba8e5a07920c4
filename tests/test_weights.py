"""Weights files: .pt state dicts, checkpoints and .safetensors load strictly, or say why not."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from designer.weights import WeightsError, load_weights, mismatch, read_state_dict


def small_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def randomized(model: nn.Module, seed: int = 1) -> dict[str, torch.Tensor]:
    """A state dict of the same keys and shapes with fresh random values."""
    generator = torch.Generator().manual_seed(seed)
    return {
        k: torch.rand(v.shape, generator=generator).to(v.dtype) * 10
        for k, v in model.state_dict().items()
    }


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".safetensors"])
def test_state_dict_files_load_every_tensor(tmp_path, suffix):
    model = small_model()
    state = randomized(model)
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    assert load_weights(model, path) == len(state)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_a_training_checkpoint_is_read_from_its_state_dict_key(tmp_path):
    model = small_model()
    state = randomized(model)
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "model_state_dict": state, "optimizer": {"lr": 0.1}}, path)
    assert load_weights(model, path) == len(state)
    assert torch.equal(model.state_dict()["0.weight"], state["0.weight"])


def test_mismatch_lists_missing_unexpected_and_mis_shaped_keys(tmp_path):
    model = small_model()
    state = randomized(model)
    del state["2.bias"]
    state["3.weight"] = torch.zeros(1)
    state["0.weight"] = torch.zeros(5, 3, 3, 3)
    path = tmp_path / "w.pt"
    torch.save(state, path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(WeightsError) as info:
        load_weights(model, path)
    message = str(info.value)
    assert info.value.status == 1
    assert "does not fit the design: 1 missing, 1 unexpected, 1 mis-shaped" in message
    assert "missing: 2.bias" in message
    assert "unexpected: 3.weight" in message
    assert "wrong shape: 0.weight is 5x3x3x3 in the file, 4x3x3x3 in the model" in message
    for key, value in model.state_dict().items():  # nothing was loaded half-way
        assert torch.equal(value, before[key]), key


def test_long_lists_are_cut_with_a_count():
    expected = {f"layer{i}.weight": torch.zeros(1) for i in range(20)}
    message = mismatch(expected, {})
    assert message.startswith("20 missing")
    assert "... and 12 more" in message


def test_a_wrapper_prefix_gets_a_hint(tmp_path):
    model = small_model()
    state = {f"module.{k}": v for k, v in randomized(model).items()}
    path = tmp_path / "dp.pt"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"every key in the file starts with 'module\.'"):
        load_weights(model, path)


def test_matching_state_dicts_have_no_mismatch():
    model = small_model()
    assert mismatch(model.state_dict(), randomized(model)) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist; check the path"),
        (b"not a pickle at all", "cannot read weights file"),
        ("list", "holds no state dict"),
    ],
)
def test_unreadable_files_have_status_2(tmp_path, content, message):
    path = tmp_path / "w.pt"
    if content == "list":
        torch.save([torch.zeros(1)], path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=message) as info:
        read_state_dict(path)
    assert info.value.status == 2


def test_a_folder_is_not_a_weights_file(tmp_path):
    with pytest.raises(WeightsError, match="is a folder"):
        read_state_dict(tmp_path)
