"""Training data: the shapes set, every loader layout, the split and each error naming its file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import save_file

from designer.cli import main
from designer.train.recipe import image_folders
from designer.train.recipe.data import DataError, DataSpec, check_targets, open_data, split
from designer.train.shapes import CLASSES, make_shapes


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    return make_shapes(tmp_path_factory.mktemp("shapes") / "set", n=40, size=32, seed=3)


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def png(path: Path, mode: str = "RGB", size=(8, 6), value=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new(mode, size, value)
    if mode == "P":  # a palette of its own, or Pillow renumbers the indices it saves
        image.putpalette([v for i in range(4) for v in (60 * i, 0, 0)])
    image.save(path)
    return path


def seg_folder(root: Path, stems=("a", "b"), mask_mode="L", gray=False) -> Path:
    for i, stem in enumerate(stems):
        png(root / "images" / f"{stem}.png", "L" if gray else "RGB", value=100)
        png(root / "masks" / f"{stem}.png", mask_mode, value=i + 1)
    return root


# the shapes set


def test_shapes_same_seed_same_bytes_and_other_seed_differs(tmp_path, shapes):
    again = files(make_shapes(tmp_path / "again", n=40, size=32, seed=3))
    assert again == files(shapes)
    other = files(make_shapes(tmp_path / "other", n=40, size=32, seed=4))
    assert other.keys() == again.keys()
    assert all(other[k] != again[k] for k in again if k.startswith("images/"))
    meta = json.loads(again["dataset.json"])
    assert meta == {
        "task": "segmentation",
        "classes": CLASSES,
        "num_classes": 4,
        "n": 40,
        "size": 32,
        "seed": 3,
        "format": "torch-designer-data",
        "version": 1,
    }


def test_shapes_masks_hold_every_class_and_match_their_images(shapes):
    samples = open_data(shapes)
    assert samples.spec == DataSpec("segmentation", 4, CLASSES, 3, (32, 32))
    counts = torch.zeros(4, dtype=torch.int64)
    for i in range(len(samples)):
        x, y = samples[i]
        assert (x.dtype, x.shape, y.dtype, y.shape) == (
            torch.float32,
            (3, 32, 32),
            torch.int64,
            (32, 32),
        )
        assert x.min() >= 0 and x.max() <= 1
        counts += torch.bincount(y.flatten(), minlength=4)
        # the background is one colour plus noise: no shape pixel lies outside its mask
        assert x[:, y == 0].std(dim=1).max() < 0.1
        for c in y.unique().tolist():
            assert x[:, y == c].numel() > 0
    assert (counts > 0).all() and counts[0] < counts.sum() * 0.9


def test_shapes_rewrite_drops_extra_samples_and_refuses_other_folders(tmp_path):
    out = make_shapes(tmp_path / "s", n=12, size=8)
    make_shapes(out, n=5, size=8)
    assert sorted(p.name for p in (out / "masks").iterdir()) == [f"000{i}.png" for i in range(5)]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(DataError, match="mine: exists and holds other files"):
        make_shapes(tmp_path / "mine", n=2, size=8)
    with pytest.raises(DataError, match=r"notes\.txt: is a file"):
        make_shapes(tmp_path / "mine" / "notes.txt", n=2, size=8)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


# loaders


def test_segmentation_folder_lazy_equals_cached(shapes, monkeypatch):
    cached = open_data(shapes)
    monkeypatch.setattr(image_folders, "CACHE_BYTES", 0)
    lazy = open_data(shapes)
    assert lazy._x is None and cached._x is not None
    for i in (0, 17, -1):
        assert all(torch.equal(a, b) for a, b in zip(lazy[i], cached[i], strict=True))
    assert lazy.source(1).endswith("images/0001.png")


def test_grayscale_folder_and_mask_modes(tmp_path):
    root = seg_folder(tmp_path, stems=("a", "b"), mask_mode="P", gray=True)
    Image.new("I;16", (8, 6), 65535).save(root / "images" / "b.png")
    samples = open_data(root)
    assert samples.spec == DataSpec("segmentation", 3, None, 1, (6, 8))
    assert samples[0][0].shape == (1, 6, 8) and samples[1][0].max() == 1
    assert samples[1][1].unique().tolist() == [2]


def test_classification_folder(tmp_path):
    for cls, n in (("cat", 2), ("dog", 3)):
        for i in range(n):
            png(tmp_path / cls / f"{i}.jpg", "L", size=(5 + i, 4), value=200)
    png(tmp_path / "dog" / "3.png", "RGBA")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    samples = open_data(tmp_path)
    assert samples.spec == DataSpec("classification", 2, ["cat", "dog"], 3, None)
    x, y = samples[2]
    assert x.shape == (3, 4, 5) and y.dtype == torch.int64 and y.shape == () and int(y) == 1
    assert [int(samples[i][1]) for i in range(len(samples))] == [0, 0, 1, 1, 1, 1]
    assert samples.source(0).endswith("cat/0.jpg")


@pytest.mark.parametrize("fmt", ["npz", "npz_compressed", "safetensors"])
@pytest.mark.parametrize(
    ("x", "y", "task", "num_classes", "channels", "size"),
    [
        (
            np.ones((6, 3, 4, 5), np.uint8),
            np.zeros((6, 4, 5), np.int64),
            "segmentation",
            1,
            3,
            (4, 5),
        ),
        (
            np.ones((6, 4, 5), np.float64),
            np.ones((6, 4, 5), np.uint8),
            "segmentation",
            2,
            1,
            (4, 5),
        ),
        (np.ones((6, 7), np.float32), np.arange(6, dtype=np.int32), "classification", 6, 7, None),
        (np.ones((6, 2, 3, 3), np.int64), np.arange(6) % 2 == 0, "classification", 2, 2, (3, 3)),
        (np.ones(6, np.int32), np.ones((6, 2), np.float32), "regression", None, 1, None),
    ],
)
def test_tensor_files(tmp_path, fmt, x, y, task, num_classes, channels, size):
    path = tmp_path / f"d.{fmt.split('_')[0]}"
    if fmt == "safetensors":
        save_file({"x": x, "y": y}, path)
    else:
        (np.savez_compressed if fmt.endswith("compressed") else np.savez)(path, x=x, y=y)
    samples = open_data(path)
    assert samples.spec == DataSpec(task, num_classes, None, channels, size)
    xi, yi = samples[5]
    assert xi.dtype == torch.float32 and xi.shape == (channels, *(size or ()))
    expected_x = torch.from_numpy(np.asarray(x[5])).double() / (255 if x.dtype == np.uint8 else 1)
    assert torch.allclose(xi.double().flatten(), expected_x.flatten())
    assert yi.dtype == (torch.float32 if task == "regression" else torch.int64)
    assert torch.equal(yi.double(), torch.from_numpy(np.asarray(y[5])).double())
    assert samples.source(5) == f"{path}#5"


def test_split_is_reproducible_and_both_sides_non_empty():
    for n in (2, 3, 10, 101):
        train, val = split(n)
        assert train and val and sorted(train + val) == list(range(n))
        assert split(n) == (train, val)
    assert len(split(100)[1]) == 20
    assert split(100, seed=1) != split(100, seed=2)
    assert split(1) == ([0], [])


def test_check_targets_names_the_first_file_beyond_the_outputs(shapes, tmp_path):
    samples = open_data(shapes)
    check_targets(samples, 4)
    with pytest.raises(
        DataError, match=r"masks/0\d{3}.png: has class index 3, but the model has 3"
    ):
        check_targets(samples, 3)
    np.savez(tmp_path / "d.npz", x=np.ones((3, 2), np.float32), y=np.array([0, 1, 4]))
    with pytest.raises(DataError, match=r"d.npz#2: has class index 4"):
        check_targets(open_data(tmp_path / "d.npz"), 2)


# errors, each naming its file: a maker builds a broken set under root and returns what to open,
# the file the error must name and the problem it must state


def corrupt_image(root):
    seg_folder(root)
    (root / "images" / "a.png").write_bytes(b"not a png at all")
    return "", "images/a.png", "cannot be read as an image"


def truncated_image(root):
    seg_folder(root)
    image = root / "images" / "b.png"
    png(image, size=(40, 40)).write_bytes(image.read_bytes()[:60])
    png(root / "masks" / "b.png", "L", size=(40, 40))
    return "", "images/b.png", "cannot be read as an image"


def image_without_mask(root):
    seg_folder(root)
    (root / "masks" / "b.png").unlink()
    return "", "images/b.png", "has no mask; add masks/b.png"


def mask_without_image(root):
    seg_folder(root)
    png(root / "masks" / "c.png", "L")
    return "", "masks/c.png", "has no image"


def mask_of_other_size(root):
    seg_folder(root)
    png(root / "masks" / "a.png", "L", size=(8, 7))
    return "", "masks/a.png", "is 8×7 but its image"


def mask_in_colour(root):
    seg_folder(root, mask_mode="RGB")
    return "", "masks/a.png", "is a RGB image, not a single-channel mask"


def too_few_declared_classes(root):
    seg_folder(root, stems=("a", "b", "c"))
    (root / "dataset.json").write_text(json.dumps({"classes": ["background", "thing"]}))
    return "", "masks/c.png", "has class index 3, but dataset.json names 2 classes"


def missing_masks_folder(root):
    seg_folder(root)
    for p in (root / "masks").iterdir():
        p.unlink()
    (root / "masks").rmdir()
    return "", "masks", "is missing"


def empty_images_folder(root):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    return "", "images", "holds no images"


def empty_folder(root):
    root.mkdir(exist_ok=True)
    return "", "", "is empty; give a folder with images/ and masks/"


def no_layout(root):
    png(root / "a.png")
    return (
        "",
        "",
        "matches no layout; give a folder with images/ and masks/ (segmentation), a folder",
    )


def empty_class_folder(root):
    png(root / "cat" / "a.png")
    (root / "dog").mkdir()
    return "", "dog", "holds no images; add images of 'dog'"


def npz(root, **arrays):
    root.mkdir(exist_ok=True)
    np.savez(root / "d.npz", **arrays)


def length_mismatch(root):
    npz(root, x=np.ones((4, 2), np.float32), y=np.ones(3, np.int64))
    return "d.npz", "d.npz", "x has 4 samples but y has 3"


def unsupported_dtype(root):
    npz(root, x=np.ones((4, 2), np.float16), y=np.ones(4, np.int64))
    return "d.npz", "d.npz", "array 'x' has dtype '<f2'; store it as little-endian float32"


def big_endian(root):
    npz(root, x=np.ones((4, 2), ">f4"), y=np.ones(4, np.int64))
    return "d.npz", "d.npz", "array 'x' has dtype '>f4'"


def fortran_order(root):
    npz(root, x=np.asfortranarray(np.ones((4, 2), np.float32)), y=np.ones(4, np.int64))
    return "d.npz", "d.npz", "array 'x' is in Fortran order"


def missing_y(root):
    npz(root, x=np.ones((4, 2), np.float32), labels=np.ones(4, np.int64))
    return "d.npz", "d.npz", "has no array 'y' (found: labels, x)"


def negative_class(root):
    npz(root, x=np.ones((4, 2), np.float32), y=np.array([0, 1, -1, 2]))
    return "d.npz", "d.npz#2", "y holds class index -1"


def integer_y_2d(root):
    npz(root, x=np.ones((4, 2), np.float32), y=np.ones((4, 2), np.int64))
    return "d.npz", "d.npz", "y is an integer tensor of shape [4, 2]"


def segmentation_size_mismatch(root):
    npz(root, x=np.ones((4, 1, 5, 5), np.float32), y=np.ones((4, 5, 4), np.int64))
    return "d.npz", "d.npz", "segmentation needs x [N,C,H,W]"


def corrupt_npz(root):
    root.mkdir(exist_ok=True)
    (root / "d.npz").write_bytes(b"PK\x03\x04 broken")
    return "d.npz", "d.npz", "is not a readable .npz file"


def safetensors(root, **arrays):
    root.mkdir(exist_ok=True)
    save_file(arrays, root / "d.safetensors")


def safetensors_dtype(root):
    safetensors(root, x=np.ones((4, 2), np.int16), y=np.ones(4, np.int64))
    return "d.safetensors", "d.safetensors", "tensor 'x' has dtype I16; store it as one of F32"


def safetensors_lengths(root):
    safetensors(root, x=np.ones((4, 2), np.float32), y=np.ones(5, np.int64))
    return "d.safetensors", "d.safetensors", "x has 4 samples but y has 5"


def safetensors_missing_x(root):
    safetensors(root, inputs=np.ones((4, 2), np.float32), y=np.ones(4, np.int64))
    return "d.safetensors", "d.safetensors", "has no tensor 'x' (found: inputs, y)"


def corrupt_safetensors(root):
    root.mkdir(exist_ok=True)
    (root / "d.safetensors").write_bytes(b"\xff" * 8 + b"{}")
    return "d.safetensors", "d.safetensors", "is not a valid safetensors file"


def unknown_file(root):
    root.mkdir(exist_ok=True)
    (root / "d.csv").write_text("1,2\n")
    return "d.csv", "d.csv", "is not a data set; give a folder"


def missing_path(root):
    return "nothing/here", "nothing/here", "does not exist"


ERRORS = [
    corrupt_image,
    truncated_image,
    image_without_mask,
    mask_without_image,
    mask_of_other_size,
    mask_in_colour,
    too_few_declared_classes,
    missing_masks_folder,
    empty_images_folder,
    empty_folder,
    no_layout,
    empty_class_folder,
    length_mismatch,
    unsupported_dtype,
    big_endian,
    fortran_order,
    missing_y,
    negative_class,
    integer_y_2d,
    segmentation_size_mismatch,
    corrupt_npz,
    safetensors_dtype,
    safetensors_lengths,
    safetensors_missing_x,
    corrupt_safetensors,
    unknown_file,
    missing_path,
]


@pytest.mark.parametrize("make", ERRORS, ids=[f.__name__ for f in ERRORS])
def test_errors_name_the_file(tmp_path, make):
    root = tmp_path / "set"
    opened, named, problem = make(root)
    with pytest.raises(DataError) as caught:
        open_data(root / opened)
    message = str(caught.value)
    assert message.startswith(f"{root / named if named else root}: "), message
    assert problem in message, message
    assert "\n" not in message


# the command line


def test_cli_shapes_and_info(tmp_path, capsys):
    assert main(["data", "shapes", str(tmp_path / "s"), "--n", "6", "--size", "16"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("wrote 6 images and masks (16×16, seed 0) to ")
    assert "pixels: background " in out[0] and "triangle " in out[0]
    assert main(["data", "info", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0] == f"{tmp_path / 's'}: segmentation, 6 samples, 4 classes, 16×16, 3 input channels"
    )
    assert out[1].startswith("  pixels: background ")
    empty_class_folder(tmp_path / "c")
    png(tmp_path / "c" / "dog" / "x.png")
    assert main(["data", "info", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "  samples: cat 1, dog 1"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["shapes", "OUT", "--n", "1"], "--n 1: give at least 2 images"),
        (["shapes", "OUT", "--size", "4"], "--size 4: give a side from 8 to 1024 pixels"),
        (["shapes", "OUT", "--size", "2000"], "--size 2000: give a side from 8 to 1024 pixels"),
        (["shapes", "OUT", "--n", "x"], "invalid int value: 'x'"),
        (["shapes", "OUT/notes.txt"], "notes.txt: is a file"),
        (["shapes", "OUT"], "exists and holds other files"),
        (["info", "OUT"], "matches no layout"),
        (["info", "OUT/none.npz"], "none.npz: does not exist"),
        (["bake"], "invalid choice: 'bake'"),
    ],
)
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    (tmp_path / "notes.txt").write_text("mine")
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    assert main(["data", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and captured.err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
