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
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    nets = models(args.size, device)
    x = torch.randn(1, 3, args.size, args.size, device=device)
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    autocast = torch.autocast(device.type, dtype=dtype) if args.amp else nullcontext()
    times: dict[str, list[float]] = {name: [] for name in nets}
    cpu: dict[str, list[float]] = {name: [] for name in nets}  # robust to other busy processes
    names = list(nets)
    with torch.inference_mode(), autocast:
        outputs = {name: net(x) for name, net in nets.items()}  # warm-up, and a sanity check
        same = all(torch.equal(outputs["generated"], o) for o in outputs.values())
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
    mode = f"{device}{' amp' if args.amp else ''}, 1x3x{args.size}x{args.size}, {args.reps} reps"
    print(f"U-Net forward ({mode}, {torch.get_num_threads()} threads; outputs identical: {same})")
    for name in names:
        median, median_cpu = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name:13s} median {median * 1e3:9.2f} ms  ratio {median / base:.3f}x   "
            f"process CPU time {median_cpu * 1e3:9.2f} ms  ratio {median_cpu / base_cpu:.3f}x"
        )


if __name__ == "__main__":
    main()
