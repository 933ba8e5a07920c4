"""How much memory a run or an export of a design needs, from the validation report alone.

Torch-free and allocation-free (``designer check`` uses it too). A process's resident memory is of
two kinds, estimated apart and measured apart by ``bench/bench_memory.py``:

* **anonymous** memory, what a run allocates: an upper bound of its peak increase (within 1.3x
  of the worst of repeated measurements on the CPU with capture, as runs do), made of
  - **parameters**: 4 bytes each (plus a 2-byte cast copy under ``amp``);
  - **inputs**: the random input tensors, alive throughout;
  - **activations**: the most bytes resident at once along the execution order, composite
    blocks walked inside. A tensor lives from the op that makes it to the end of its last
    consumer; a composite block's inputs, and the head input of a chain of single-input nodes
    (the live model's ``nn.Sequential``), are held until the block or chain finishes; views and
    pass-throughs (Identity, Dropout, Flatten, Input, Output) share their input's storage. With
    ``capture`` (every node's output kept, as ``designer run``'s per-node profile and the
    editor's previews do) nothing is freed. glibc maps a block of 32 MiB or more on its own and
    unmaps it when freed; smaller ones come from the heap, whose pages stay resident once used,
    so the heap counts at its high water so far;
  - **workspace**: the scratch of the op at that point. oneDNN computes a convolution in its
    16-channel blocked layout: copies of its input (unless it has fewer channels than a block)
    and weight, a blocked output, then the copy into the output, which reuses the freed copies
    when they are large enough (in the heap, else their hole stays); a transposed one also keeps
    a column buffer as large as its output;
  - **overhead**: the runtime's first-use buffers (thread pools, oneDNN's and Python's: half a
    megabyte, as much again when capturing) and the heap's fragmentation, holes the next tensors
    cannot use: a share of the heap's high water and, without capture (activations freed and
    their bytes reused along the pass), a share of the heap bytes the pass allocates. Both are
    fitted to the worst of repeated measurements (2 CPU threads). Where the holes fall differs
    between processes (without capture a peak varies up to 1.7x: ``bench/bench_memory.py``);
    the estimate bounds the worst case;
* **code pages**: the parts of torch's libraries a run maps as it first uses them. They are
  shared with the page cache and reclaimable, and how many a fault maps depends on what is cached
  already (12 to 21 MiB measured with torch's files hot, fewer when cold), so they are a bounded
  constant (:data:`CODE`) rather than part of the comparison. Whether a run fits is judged on the
  sum, :attr:`Estimate.total`.

An ONNX export costs the exporter's own working memory (about 150 MiB), the parameters four times
over (the model, the exported program, the ONNX model and its serialized bytes; measured up to
1 GiB of parameters), then torch's and onnxruntime's forward passes to compare them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from math import prod

from designer.core.graph import Design
from designer.core.repeat import copies
from designer.core.validate import Report
from designer.core.wiring import Wiring

MiB = 1024**2
GiB = 1024**3
# Anonymous first-use cost of the runtime (bench/bench_memory.py --overhead): thread pools',
# oneDNN's and Python's own buffers; capturing adds its per-node timing and statistics.
RUNTIME = MiB // 2
CAPTURE_RUNTIME = MiB // 2
# Code pages a run maps: 12 to 21 MiB measured with torch's files hot, 37 to 48 MiB in a fresh
# install whose first run maps more of torch's libraries; a bound above both.
CODE = 64 * MiB
MMAP_MAX = 32 * MiB  # glibc's largest mmap threshold: smaller tensors live in the heap
# Heap holes the next tensors cannot use stay resident: a share of the heap's high water, and of
# the heap bytes a pass without capture allocates, frees and reuses (fitted to the worst of
# repeated measurements).
HIGH_WATER_SHARE = 0.3
FREED_SHARE = 0.2
EXPORT_COPIES = 4  # parameters held at once by an export: model, program, ONNX model, bytes
EXPORT_RUNTIME = 192 * MiB  # the exporter's own working memory (tracing, rewriting, checking)
ONNX_LIMIT = 2 * GiB - 64 * MiB  # protobuf's 2 GiB limit, less room for the graph itself
MARGIN = 0.9  # share of the free memory a run may plan to use
VIEWS = frozenset({"Input", "Output", "Identity", "Dropout", "Flatten"})
BLOCKED = 16  # channels per block of oneDNN's blocked layouts


@dataclass(frozen=True)
class Estimate:
    """Bytes a forward pass needs at most, by kind (see the module's docstring)."""

    parameters: int
    inputs: int = 0
    activations: int = 0
    workspace: int = 0
    overhead: int = 0
    code: int = 0  # code pages: file-backed, a bounded constant

    @property
    def anonymous(self) -> int:
        """All but the code pages: what the run allocates."""
        return self.parameters + self.inputs + self.activations + self.workspace + self.overhead

    @property
    def total(self) -> int:
        return self.anonymous + self.code

    def describe(self) -> str:
        """``about 2.1 GiB (parameters 118.4 MiB, activations 1.9 GiB, ..., code pages 48 MiB)``."""
        parts = ", ".join(
            f"{name.replace('code', 'code pages')} {human_bytes(getattr(self, name))}"
            for name in ("parameters", "inputs", "activations", "workspace", "overhead", "code")
            if getattr(self, name)
        )
        return f"about {human_bytes(self.total)} ({parts})"


def human_bytes(n: float) -> str:
    """``123456789`` -> ``117.7 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


# -- the walk -------------------------------------------------------------------------------------


class _Tape:
    """Tensors (bytes each) and ops (tensors read, tensors written, workspace) in order."""

    def __init__(self, itemsize: int) -> None:
        self.itemsize = itemsize
        self.sizes: list[int] = []
        self.inputs: list[int] = []  # tensor ids of the model's inputs
        self.ops: list[tuple[tuple[int, ...], tuple[int, ...], int]] = []

    def tensor(self, shape) -> int:
        self.sizes.append(_numel(shape) * self.itemsize)
        return len(self.sizes) - 1

    def op(self, reads, writes=(), workspace: int = 0) -> None:
        self.ops.append((tuple(reads), tuple(writes), workspace))


def _numel(shape) -> int:
    return prod(1 if d is None else d for d in shape)


def _padded(shape, itemsize: int) -> int:
    """Bytes of ``shape`` with its channels rounded up to a whole block."""
    if len(shape) < 3:
        return _numel(shape) * itemsize
    channels = -(-(shape[1] or 1) // BLOCKED) * BLOCKED
    return _numel(shape) // (shape[1] or 1) * channels * itemsize


def op_workspace(block: str, params: int, in_shapes, out_shapes, itemsize: int = 4) -> int:
    """Scratch bytes of one op beyond its output (convolutions; others need none worth counting).

    oneDNN computes a convolution in its blocked layout: it copies the input there (unless the
    input has fewer channels than a block, which it reads as is) and the weight, computes into a
    blocked output, frees both copies, then copies the result into the output. The output may
    reuse the copies' bytes; where they are smaller and in the heap, their hole stays resident."""
    if not block.startswith(("Conv", "ConvTranspose")) or not in_shapes or not out_shapes:
        return 0
    src, dst = in_shapes[0], out_shapes[0]
    blocked = _padded(dst, itemsize)
    if block.startswith("ConvTranspose"):
        return _padded(src, itemsize) + 2 * blocked + 4 * params
    reordered = len(src) < 3 or (src[1] or 1) >= BLOCKED
    copies = 4 * params + (_padded(src, itemsize) if reordered else 0)
    output = _numel(dst) * itemsize
    if copies < output:
        return blocked + (copies if copies < MMAP_MAX else 0)
    return blocked + copies - output


def _chained(wiring: Wiring, report: Report, wires: dict) -> str | None:
    """The node feeding a node with these input ``wires`` when both belong to one chain (a single
    wire between two single-input nodes: the live model's ``nn.Sequential``)."""
    if len(wires) != 1:
        return None
    ((src, _),) = wires.values()
    if report.nodes[src].block in ("Input", "Output") or len(wiring.out_of[src]) != 1:
        return None
    if len(wiring.into[src]) != 1:  # a merge (Concat, Add) heads no chain of its consumers
        return None
    return src


def _walk(source, wiring: Wiring, report: Report, tape: _Tape, args: list[int] | None) -> dict:
    """Record the ops of a design (``source`` resolves its block types) on the tape, reading its
    wires from ``wiring``; ``args`` are a composite body's input tensors. Returns the tensor of
    each Output node."""
    env: dict[tuple[str, str], int] = {}
    held: dict[str, int] = {}  # node -> the head input of its chain
    outputs: dict[str, int] = {}
    for node_id in report.order:
        info = report.nodes.get(node_id)
        if info is None:
            continue
        wires = wiring.into[node_id]
        reads = [env[w] for w in wires.values() if w in env]
        src = _chained(wiring, report, wires)
        if reads:
            held[node_id] = held.get(src, reads[0]) if src else reads[0]
        hold = [held[node_id]] if node_id in held else []
        if info.block == "Input":
            env[(node_id, "out")] = _input(wiring, info, node_id, tape, args)
        elif info.block in VIEWS:
            if reads:
                env[(node_id, "out")] = outputs[node_id] = reads[0]
            tape.op(reads + hold)
        else:
            spec = source.spec(info.block)
            for copy in _each_copy(info):  # a repeated node: each copy reads the one before
                made = _module_op(spec, copy, tape, reads, hold)
                reads = [made[p] for p in copy.ports if p in made][:1] or reads
            env.update(((node_id, p), t) for p, t in made.items())
    return {n: t for n, t in outputs.items() if report.nodes[n].block == "Output"}


def _each_copy(info) -> list:
    """The NodeInfo each copy of a node sees, in order (one for a node without a repeat), its
    parameters about one copy's share."""
    if info.repeat is None:
        return [info]
    share = info.params // (info.repeat or 1)
    return [replace(copy, params=share) for copy, n in copies(info) for _ in range(n)]


def _module_op(spec, info, tape: _Tape, reads: list[int], hold: list[int]) -> dict[str, int]:
    """Record one module's ops (a composite block's body walked); its output port tensors."""
    if spec.composite is not None:
        inner = spec.composite.instantiate(info.values, list(info.in_shapes))
        results = _walk(spec.composite.body, inner.wiring, inner.report, tape, reads)
        tape.op(reads + hold)  # the caller holds the block's inputs until it returns
        return {p: results[p] for p in info.ports if p in results}
    writes = [tape.tensor(s) for s in info.out_shapes]
    work = op_workspace(info.block, info.params, info.in_shapes, info.out_shapes, tape.itemsize)
    tape.op(reads + hold, writes, work)
    return dict(zip(info.ports, writes, strict=False))


def _input(wiring: Wiring, info, node_id: str, tape: _Tape, args: list[int] | None) -> int:
    """The tensor an Input node stands for: a model input, or a composite block's argument."""
    if args is None:
        tape.inputs.append(tape.tensor(info.out_shapes[0]))
        return tape.inputs[-1]
    inputs = [n for n, data in wiring.nodes.items() if data["type"] == "Input"]
    return args[inputs.index(node_id)]


def _peak(tape: _Tape, keep: list[int], capture: bool) -> tuple[int, int, int]:
    """The most bytes resident at once: (activations, that op's workspace, the heap's high water).

    A tensor of :data:`MMAP_MAX` or more is mapped on its own and returned when freed; smaller
    ones come from the heap, whose pages stay resident once used: at each op the heap counts at
    its high water so far, not at the bytes alive in it."""
    end = len(tape.ops)
    last = dict.fromkeys(keep, end)  # op after which each tensor is freed (end: never)
    for k, (reads, _, _) in enumerate(tape.ops):
        for t in reads:
            last[t] = max(last.get(t, k), k)
    freed = [[0, 0] for _ in range(end + 1)]  # per op: heap bytes freed, mapped bytes freed
    for _, writes, _ in tape.ops:
        for t in writes:
            freed[end if capture else last.get(t, end)][_mapped(tape.sizes[t])] += tape.sizes[t]
    alive, high, best = [0, 0], 0, (0, 0, 0)
    for k, (_, writes, work) in enumerate(tape.ops):
        for t in writes:
            alive[_mapped(tape.sizes[t])] += tape.sizes[t]
        high = max(high, alive[0] + (0 if _mapped(work) else work))
        resident = alive[1] + high + (work if _mapped(work) else 0)
        if resident > sum(best[:2]):
            best = (resident - work, work, high)
        alive = [alive[0] - freed[k][0], alive[1] - freed[k][1]]
    return best


def _mapped(size: int) -> int:
    """1 for a block the allocator maps on its own (returned when freed), 0 for a heap one."""
    return int(size >= MMAP_MAX)


def estimate(
    design: Design, report: Report, *, capture: bool = True, amp: bool = False
) -> Estimate:
    """What one forward pass of a valid design needs at most, at the report's shapes."""
    tape = _Tape(2 if amp else 4)
    outputs = _walk(design, Wiring.of_design(design), report, tape, None)
    activations, work, heap = _peak(tape, list(outputs.values()), capture)
    return Estimate(
        parameters=(6 if amp else 4) * report.total_params,
        inputs=sum(tape.sizes[t] for t in tape.inputs) * (2 if amp else 1),
        activations=activations,
        workspace=work,
        overhead=_overhead(tape, heap, capture) + CAPTURE_RUNTIME * capture,
        code=CODE,
    )


def _overhead(tape: _Tape, high: int, capture: bool) -> int:
    """The runtime's anonymous first-use cost and the heap's fragmentation: a share of its high
    water and, without capture (which frees nothing), of the heap bytes the pass allocates."""
    traffic = 0 if capture else sum(size for size in tape.sizes if not _mapped(size))
    return RUNTIME + int(HIGH_WATER_SHARE * high + FREED_SHARE * traffic)


def export_estimate(design: Design, report: Report, verify: bool = True) -> Estimate:
    """What an ONNX export needs at most: the exporter's own cost, the parameters four times
    over, and a forward pass (two with ``verify``: torch's and onnxruntime's, each mapping its
    library's code)."""
    run = estimate(design, report, capture=False)
    passes = 2 if verify else 1
    return Estimate(
        parameters=EXPORT_COPIES * run.parameters,
        inputs=passes * run.inputs,
        activations=passes * run.activations,
        workspace=passes * run.workspace,
        overhead=EXPORT_RUNTIME + passes * run.overhead,
        code=passes * run.code,  # torch's code pages, and onnxruntime's
    )


def too_large_for_onnx(report: Report) -> str | None:
    """Why the parameters cannot go into one ONNX file (protobuf's 2 GiB limit), or None."""
    size = 4 * report.total_params
    if size <= ONNX_LIMIT:
        return None
    return (
        f"the parameters take {human_bytes(size)}, more than the 2 GiB one ONNX file can hold "
        "(protobuf's limit); nothing was built. Keep the weights in a separate file (ONNX "
        "external data): generate the code with `designer codegen`, then "
        "torch.onnx.export(model, args, dynamo=True).save('MODEL.onnx', external_data=True) "
        "writes MODEL.onnx and MODEL.onnx.data"
    )


def shortfall(need: Estimate, free: int, where: str) -> str | None:
    """Why ``need`` does not fit in ``free`` bytes on ``where`` (None when it does)."""
    if need.total <= MARGIN * free:
        return None
    return f"{need.describe()} needed, {human_bytes(free)} free on {where}"


# -- free memory ----------------------------------------------------------------------------------


def available_bytes() -> int:
    """Free physical memory for this process: MemAvailable, capped by the cgroup's room."""
    free = _meminfo("MemAvailable")
    if free is None:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    room = _cgroup_room()
    return free if room is None else min(free, room)


def _meminfo(key: str) -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


CGROUPS = (  # (limit, usage, stat, reclaimable key): cgroup v2, then v1
    ("memory.max", "memory.current", "memory.stat", "inactive_file"),
    (
        "memory/memory.limit_in_bytes",
        "memory/memory.usage_in_bytes",
        "memory/memory.stat",
        "total_inactive_file",
    ),
)


def _cgroup_room(root: str = "/sys/fs/cgroup") -> int | None:
    """The cgroup's limit less its usage (reclaimable page cache excepted), or None unlimited."""
    for limit_file, usage_file, stat_file, key in CGROUPS:
        try:
            limit = _read(os.path.join(root, limit_file))
            usage = _read(os.path.join(root, usage_file))
        except (OSError, ValueError):
            continue
        if limit is None or limit >= 2**60:
            return None
        return max(0, limit - usage + _stat(os.path.join(root, stat_file), key))
    return None


def _read(path: str) -> int | None:
    with open(path, encoding="ascii") as f:
        text = f.read().strip()
    return None if text == "max" else int(text)


def _stat(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0
