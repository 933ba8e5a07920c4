"""Speed of the live model and the generated code against a hand-written reference.

    python bench/bench_codegen.py [--model unet|vit|gpt] [--size 256] [--reps 12]
                                  [--device cpu|cuda] [--amp]

The U-Net is the seed's; the ViT (ViT-S/16 width, 6 layers, 224x224) and the GPT (GPT-2 style,
4 layers of width 256, 128 tokens) are the bundled examples' generators at a benchmark size,
against the hand-written references of tests/references.py.

The three models get the same weights and the same input, run interleaved (the order rotates each
repetition) after a warm-up, and the medians are compared with the hand-written reference.
Target: both ratios at most 1.02 on CPU.
"""

from __future__ import annotations

import argparse
import runpy
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import references  # noqa: E402
from reference_unet import ReferenceUNet, copy_weights  # noqa: E402

import designer  # noqa: E402

GENERATOR = runpy.run_path(str(ROOT / "examples" / "build_examples.py"))
VIT = {"image": 224, "patch": 16, "dim": 384, "depth": 6, "heads": 6, "mlp": 1536, "classes": 1000}
GPT = {"vocab": 1000, "context": 128, "dim": 256, "depth": 4, "heads": 4}


def case(model: str, size: int) -> tuple:
    """(design, input shapes, hand-written reference, weight copier, example input)."""
    if model == "unet":
        shapes = {"x": (1, 3, size, size)}
        design = designer.load(ROOT / "examples" / "unet.json")
        return design, shapes, ReferenceUNet(), copy_weights, torch.randn(shapes["x"])
    if model == "vit":
        shapes = {"image": (1, 3, VIT["image"], VIT["image"])}
        design = GENERATOR["vit"](**VIT)
        return (
            design,
            shapes,
            references.vit(**VIT),
            references.copy_weights,
            torch.randn(shapes["image"]),
        )
    shapes = {"tokens": (1, GPT["context"])}
    ids = torch.randint(0, GPT["vocab"], shapes["tokens"])
    design = GENERATOR["gpt"](**GPT)
    return design, shapes, references.gpt(**GPT), references.copy_weights, ids


def models(model: str, size: int, device: torch.device) -> tuple[dict, torch.Tensor]:
    """Live, generated and reference models with identical weights, in eval mode; the input."""
    design, shapes, reference, copy, x = case(model, size)
    live = designer.build(design, device, shapes)
    namespace: dict = {}
    exec(compile(designer.generate_code(design, "Model", input_shapes=shapes), model, "exec"),
         namespace)  # fmt: skip
    generated = namespace["Model"]().to(device)
    generated.load_state_dict(live.state_dict(), strict=True)
    reference = reference.to(device)
    copy(live, reference)
    nets = {"hand-written": reference.eval(), "generated": generated.eval(), "live": live.eval()}
    return nets, x.to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("unet", "vit", "gpt"), default="unet")
    parser.add_argument("--size", type=int, default=256, help="the U-Net's input height and width")
    parser.add_argument("--reps", type=int, default=12, help="timed repetitions per model")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", action="store_true", help="autocast (fp16 on CUDA, bf16 on CPU)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    nets, x = models(args.model, args.size, device)
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    autocast = torch.autocast(device.type, dtype=dtype) if args.amp else nullcontext()
    times: dict[str, list[float]] = {name: [] for name in nets}
    cpu: dict[str, list[float]] = {name: [] for name in nets}  # robust to other busy processes
    names = list(nets)
    with torch.inference_mode(), autocast:
        outputs = {name: net(x) for name, net in nets.items()}  # warm-up, and a sanity check
        same = all(
            torch.allclose(outputs["generated"], o, rtol=1e-4, atol=1e-5) for o in outputs.values()
        )
        for rep in range(args.reps):
            for name in names[rep % 3 :] + names[: rep % 3]:
                sync()
                start, start_cpu = time.perf_counter(), time.process_time()
                nets[name](x)
                sync()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
            print(f"\r  repetition {rep + 1}/{args.reps}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    base = statistics.median(times["hand-written"])
    base_cpu = statistics.median(cpu["hand-written"])
    size = "x".join(map(str, x.shape))
    mode = f"{device}{' amp' if args.amp else ''}, {size}, {args.reps} reps"
    print(
        f"{args.model} forward ({mode}, {torch.get_num_threads()} threads; outputs equal: {same})"
    )
    for name in names:
        median, median_cpu = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name:13s} median {median * 1e3:9.2f} ms  ratio {median / base:.3f}x   "
            f"process CPU time {median_cpu * 1e3:9.2f} ms  ratio {median_cpu / base_cpu:.3f}x"
        )


if __name__ == "__main__":
    main()
