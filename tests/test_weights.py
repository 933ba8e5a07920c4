"""Weights files: .pt state dicts, checkpoints and .safetensors load strictly, or say why not."""

from __future__ import annotations

import struct
import time
import zipfile

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from designer.live.weights import WeightsError, load_weights, mismatch, read_state_dict


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


class Payload:
    """A Python object a pickle would construct: never loaded."""


def deflate(raw, path) -> None:
    """Recompress the zip entries of the torch.save file ``raw`` into ``path``."""
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            dst.writestr(entry.filename, src.read(entry.filename))
    raw.unlink()


def deflated_zeros(path, nbytes: int) -> None:
    """A real torch.save file of ``nbytes`` of zeros, recompressed: small on disk, huge loaded."""
    torch.save({"0.weight": torch.zeros(nbytes // 4)}, path.with_suffix(".raw"))
    deflate(path.with_suffix(".raw"), path)


def test_a_file_that_inflates_is_refused_before_it_is_expanded(tmp_path, monkeypatch):
    path = tmp_path / "bomb.pt"
    deflated_zeros(path, 64 * 2**20)
    assert path.stat().st_size < 2**20  # 64 MiB of zeros in well under 1 MiB
    assert read_state_dict(path)["0.weight"].numel() == 16 * 2**20  # torch would expand it

    def expand(source):
        raise AssertionError("the file was expanded")

    monkeypatch.setattr("designer.live.weights._read", expand)
    start = time.perf_counter()
    with pytest.raises(
        WeightsError, match=r"expand to 67,1\d\d,\d{3} bytes, and the model.s tensors take 560"
    ) as info:
        load_weights(small_model(), path)
    assert time.perf_counter() - start < 1.0
    assert info.value.status == 2
    monkeypatch.setattr("designer.live.weights.DEFAULT_CAP", 2**20)
    with pytest.raises(WeightsError, match="the limit is 1,048,576 bytes"):
        read_state_dict(path)  # no model to compare with: the default cap


def test_a_compressed_file_of_the_right_size_still_loads(tmp_path):
    model = small_model()
    path = tmp_path / "w.pt"
    state = randomized(model)
    torch.save(state, path.with_suffix(".raw"))
    deflate(path.with_suffix(".raw"), path)
    assert load_weights(model, path) == len(state)


def safetensors_file(path, header: bytes, data: bytes = b"", length: int | None = None) -> None:
    size = len(header) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + header + data)


@pytest.mark.parametrize(
    ("header", "data", "length", "message"),
    [
        (b"{}", b"", 2**40, "header length 1,099,511,627,776 does not fit a 10-byte file"),
        (
            b'{"a": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}}',
            b"",
            None,
            "points 4,096 bytes past the end of the file",
        ),
        (
            b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}',
            b"",
            None,
            "not ordered pairs",
        ),
        (b"[1, 2]", b"", None, "not a JSON object"),
    ],
)
def test_a_safetensors_header_is_checked_before_loading(tmp_path, header, data, length, message):
    path = tmp_path / "w.safetensors"
    safetensors_file(path, header, data, length)
    with pytest.raises(WeightsError, match=message) as info:
        read_state_dict(path)
    assert info.value.status == 2


def test_a_safetensors_file_far_larger_than_the_model_is_refused(tmp_path):
    path = tmp_path / "big.safetensors"
    save_file({"0.weight": torch.zeros(2**20)}, str(path))  # 4 MiB for a model of 1 KiB
    with pytest.raises(WeightsError, match=r"would expand to 4,194,304 bytes, and the model's"):
        load_weights(small_model(), path)


def test_python_objects_are_refused_without_torchs_unsafe_advice(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"0.weight": torch.zeros(1), "extra": Payload()}, path)
    with pytest.raises(WeightsError) as info:
        read_state_dict(path)
    message = str(info.value)
    assert "weights_only" not in message and "arbitrary code" not in message
    assert message.endswith(
        f"holds Python objects other than tensors (such as {__name__}.Payload); only plain "
        "state dicts are loaded, nothing in the file is executed"
    )
    assert info.value.status == 2


def test_a_damaged_file_never_shows_torchs_advice(tmp_path):
    path = tmp_path / "w.pt"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(
        WeightsError, match=r"not a torch.save state dict, or a damaged one \("
    ) as info:
        read_state_dict(path)
    assert "weights_only" not in str(info.value)


def test_a_checkpoint_with_adam_state_is_within_the_bound(tmp_path):
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.rand(1, 3, 5, 5)).sum().backward()
    optimizer.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"model_state_dict": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    assert load_weights(small_model(), path) == len(model.state_dict())
