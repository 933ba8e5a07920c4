"""Speed of the live model and the generated code against a hand-written U-Net.

    python bench/bench_codegen.py [--size 256] [--reps 12] [--device cpu|cuda] [--amp]

The three models get the same weights and the same input, run interleaved (the order rotates each
repetition) after a warm-up, and the medians are compared with the hand-written reference.
Target: both ratios at most 1.02 on CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reference_unet import ReferenceUNet, copy_weights  # noqa: E402

import designer  # noqa: E402


def models(size: int, device: torch.device) -> dict[str, torch.nn.Module]:
    """Live, generated and reference U-Nets with identical weights, in eval mode."""
    design = designer.load(ROOT / "examples" / "unet.json")
    shapes = {"x": (1, 3, size, size)}
    live = designer.build(design, device, shapes)
    namespace: dict = {}
    exec(
        compile(designer.generate_code(design, "UNet", input_shapes=shapes), "unet", "exec"),
        namespace,
    )
    generated = namespace["UNet"]().to(device)
    generated.load_state_dict(live.state_dict(), strict=True)
    reference = ReferenceUNet().to(device)
    copy_weights(live, reference)
    return {"hand-written": reference.eval(), "generated": generated.eval(), "live": live.eval()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="input height and width")
    parser.add_argument("--reps", type=int, default=12, help="timed repetitions per model")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", action="store_true", help="autocast (fp16 on CUDA, bf16 on CPU)")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    nets = models(args.size, device)
    x = torch.randn(1, 3, args.size, args.size, device=device)
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    autocast = torch.autocast(device.type, dtype=dtype) if args.amp else nullcontext()
    times: dict[str, list[float]] = {name: [] for name in nets}
    names = list(nets)
    with torch.inference_mode(), autocast:
        outputs = {name: net(x) for name, net in nets.items()}  # warm-up, and a sanity check
        same = all(torch.equal(outputs["generated"], o) for o in outputs.values())
        for rep in range(args.reps):
            for name in names[rep % 3 :] + names[: rep % 3]:
                sync()
                start = time.perf_counter()
                nets[name](x)
                sync()
                times[name].append(time.perf_counter() - start)
            print(f"\r  repetition {rep + 1}/{args.reps}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    base = statistics.median(times["hand-written"])
    mode = f"{device}{' amp' if args.amp else ''}, 1x3x{args.size}x{args.size}, {args.reps} reps"
    print(f"U-Net forward ({mode}; outputs identical: {same})")
    for name in names:
        median = statistics.median(times[name])
        print(f"  {name:13s} median {median * 1e3:9.2f} ms   ratio {median / base:.3f}x")


if __name__ == "__main__":
    main()
