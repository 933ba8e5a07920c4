"""What a node shows, as plain data: title, a block line, shapes, issues. No dearpygui here.

The canvas compares a node's :class:`NodeView` with the one it drew last and touches only the
items whose text changed, which keeps an edit on a 500-node design within one frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from designer.blocks import UnknownBlockError
from designer.core.cost import Cost, human, human_bytes, node_cost
from designer.core.placement import Cut, cut_wires, device_of, node_load, per_tag, tag_of
from designer.core.repeat import titled
from designer.core.shapes import format_shape
from designer.core.validate import Issue
from designer.edit.editor import Editor, Ports


@dataclass(frozen=True)
class NodeView:
    """Everything drawn on one node."""

    title: str
    block_line: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    output_text: tuple[str, ...]  # one per output: its shape (and port name if several)
    problems: str  # message and hint of every issue, one per line ("" when fine)
    bad_ports: frozenset[str]  # input ports whose wire (or missing wire) has an issue
    severity: str  # "ok", "warning" or "error"
    input_tips: tuple[str, ...] = ()  # one per input: the tensor that reaches it, and from where
    input_labels: tuple[str, ...] = ()  # one per input: its name, and what a cut wire moves
    cut_ports: frozenset[str] = frozenset()  # inputs whose wire comes from another device

    def lines(self) -> list[str]:
        """Every line of text the node shows (to estimate its size before it is drawn)."""
        labels = self.input_labels or self.inputs
        return [self.title, *self.block_line.splitlines(), *labels, *self.output_text]

    @property
    def rows(self) -> int:
        return len(self.block_line.splitlines()) + len(self.inputs) + len(self.outputs)


def top_node(issue: Issue) -> str | None:
    """The canvas node an issue belongs to (``up1`` for ``up1/conv``)."""
    return None if issue.node is None else issue.node.split("/", 1)[0]


def issues_by_node(issues: list[Issue]) -> dict[str, list[Issue]]:
    """Issues grouped by the canvas node they belong to."""
    grouped: dict[str, list[Issue]] = {}
    for issue in issues:
        node = top_node(issue)
        if node is not None:
            grouped.setdefault(node, []).append(issue)
    return grouped


def node_view(
    editor: Editor,
    node_id: str,
    issues: list[Issue],
    ports: Ports | None = None,
    cost: bool = False,
    placement: PlacementView | None = None,
) -> NodeView:
    """The view of one node from the editor's current report and the node's issues.

    ``ports`` may be passed when the caller knows they did not change (no wire touched the node);
    ``cost`` adds the node's multiply-accumulates and activation memory to its block line;
    ``placement`` adds what each cut wire into the node moves to its input's tooltip.
    """
    data = editor.design.node(node_id)
    info = editor.report.nodes.get(node_id)
    if ports is None or _outputs_vary(editor, data["type"]):
        ports = editor.ports(node_id)
    block = data["type"]
    if info is None:
        shapes = ["?"] * len(ports.outputs)
        block_line = block
    else:
        shapes = [format_shape(s) for s in info.out_specs] + ["?"] * len(ports.outputs)
        block_line = f"{block} · {info.params:,} params" if info.params else block
        if not ports.outputs:  # an Output shows what reaches it
            block_line = f"{block} · {format_shape(info.spec or info.shape)}"
        elif cost and block != "Input":
            c = node_cost(editor.design, editor.report, node_id)
            block_line += f"\n{human(c.macs)} MACs · {human(c.activation_bytes(), 'B')}"
    several = len(ports.outputs) > 1
    output_text = tuple(
        f"{name}: {shape}" if several else shape
        for name, shape in zip(ports.outputs, shapes, strict=False)
    )
    cuts = _cuts_into(editor, node_id, ports.inputs, placement)
    lines = [f"{_where(i)}{i.message}" + (f"\n    {i.hint}" if i.hint else "") for i in issues]
    errors = [i for i in issues if i.severity == "error"]
    return NodeView(
        title=titled(data["label"], data),
        block_line=block_line,
        inputs=ports.inputs,
        outputs=ports.outputs,
        output_text=output_text,
        problems="\n".join(lines),
        bad_ports=frozenset(i.port for i in issues if i.port and i.node == node_id),
        severity="error" if errors else "warning" if issues else "ok",
        input_tips=incoming(editor, node_id, ports.inputs, placement),
        input_labels=tuple(
            f"{p} ← {human_bytes(cuts[p].bytes_per_sample)}" if p in cuts else p
            for p in ports.inputs
        ),
        cut_ports=frozenset(cuts),
    )


def _cuts_into(
    editor: Editor, node_id: str, inputs: tuple[str, ...], placement: PlacementView | None
) -> dict[str, Cut]:
    """The node's inputs whose wire is a cut, with the cut."""
    if placement is None or not placement.cuts:
        return {}
    wired = editor.design.inputs_of(node_id)
    found = {}
    for port in inputs:
        source = wired.get(port)
        cut = placement.cuts.get((*source, node_id, port)) if source else None
        if cut is not None:
            found[port] = cut
    return found


def incoming(
    editor: Editor,
    node_id: str,
    inputs: tuple[str, ...],
    placement: PlacementView | None = None,
) -> tuple[str, ...]:
    """What reaches each input: ``x: N×64×32×32 from conv.out`` (for the pins' tooltips), and
    on a cut wire what it moves between devices."""
    wired = editor.design.inputs_of(node_id)
    tips = []
    for port in inputs:
        source = wired.get(port)
        if source is None:
            tips.append(f"{port}: not connected")
            continue
        src, src_port = source
        tip = f"{port}: {_output_shape(editor, src, src_port)} from {src}.{src_port}"
        cut = placement.cuts.get((src, src_port, node_id, port)) if placement else None
        if cut is not None:
            tip += "\n" + placement.cut_line(cut)
        tips.append(tip)
    return tuple(tips)


def _outputs_vary(editor: Editor, block: str) -> bool:
    """Whether a block's outputs follow its parameters and input (a Split), so that they may
    change when no wire touched the node."""
    try:
        return editor.design.spec(block).output_count is not None
    except UnknownBlockError:
        return False


def _output_shape(editor: Editor, node_id: str, port: str) -> str:
    info = editor.report.nodes.get(node_id)
    if info is None:
        return "shape unknown"
    if port not in info.ports:  # a port the node lacks (validation says so)
        return "shape unknown"
    return format_shape(info.out_specs[info.ports.index(port)])


def _where(issue: Issue) -> str:
    inner = issue.node.split("/", 1)[1] + ": " if issue.node and "/" in issue.node else ""
    port = f"port {issue.port}: " if issue.port else ""
    return inner + port


def issue_line(issue: Issue) -> str:
    """One line for the issues list."""
    mark = "error" if issue.severity == "error" else "warning"
    where = f"{issue.node}" + (f".{issue.port}" if issue.port else "") if issue.node else "design"
    return f"[{mark}] {where}: {issue.message}"


def status_line(editor: Editor, device: str) -> str:
    """The right-hand side of the status bar."""
    report = editor.report
    errors = len(report.errors)
    state = "valid" if not errors else f"{errors} error{'s' * (errors != 1)}"
    return (
        f"{len(editor.design)} nodes · {report.total_params:,} params · {state} · "
        f"validated in {report.seconds * 1000:.1f} ms · device: {device}"
    )


def window_title(editor: Editor) -> str:
    """``unet.json* — torch-designer``: the file name, marked when there is unsaved work."""
    return f"{editor.display_name}{'*' if editor.dirty else ''} — torch-designer"


# -- placement ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageView:
    """One placement tag of a design: where it runs and what it holds (batch 1, float32)."""

    tag: str  # '' for the untagged parts
    device: str | None  # None: wherever the model is put
    nodes: int
    params: int
    activation_bytes: int
    share: float  # of the design's memory (weights and activations)

    @property
    def name(self) -> str:
        """``stage 0 · cpu``, ``cuda:1`` or ``untagged``."""
        if self.tag.isdigit():
            return f"stage {self.tag} · {self.device or 'no device'}"
        return self.tag or "untagged (model device)"

    def line(self) -> str:
        return (
            f"{self.name}: {human(self.params)} params ({human_bytes(4 * self.params)}), "
            f"activations {human_bytes(self.activation_bytes)} · {self.share:.0%}"
        )


@dataclass(frozen=True)
class PlacementView:
    """A placed design's stages (in the legend's order), each node's tag and the cut wires."""

    stages: tuple[StageView, ...]
    tags: dict[str, str]  # node -> tag ('' untagged)
    cuts: dict[tuple[str, str, str, str], Cut]  # wire -> its cut

    def index(self, tag: str) -> int | None:
        """The position of a tag in the legend (its colour), None for the untagged parts."""
        for k, stage in enumerate(s for s in self.stages if s.tag):
            if stage.tag == tag:
                return k
        return None

    def name_of(self, tag: str) -> str:
        return next((s.name for s in self.stages if s.tag == tag), tag or "untagged")

    def cut_line(self, cut: Cut) -> str:
        """``cut: stage 0 · cpu → stage 1 · cpu, 79.9 MiB per sample``."""
        where = f"{self.name_of(cut.source)} → {self.name_of(cut.target)}"
        return f"cut: {where}, {human_bytes(cut.bytes_per_sample)} per sample"

    def summary(self) -> str:
        """``3 cut wires move 139.8 MiB per sample``."""
        moved = human_bytes(sum(c.bytes_per_sample for c in self.cuts.values()))
        count = len(self.cuts)
        verb = "moves" if count == 1 else "move"
        return f"{count} cut wire{'s' * (count != 1)} {verb} {moved} per sample"


def placement_view(editor: Editor) -> PlacementView | None:
    """What the canvas shows of the shown design's placement; None when nothing is placed."""
    design, report = editor.design, editor.report
    tags = {n: tag_of(design, n) for n in design.node_ids()}
    if not any(tags.values()):
        return None
    totals = per_tag(design, report)
    whole = sum(node_load(c, "memory") for c in totals.values()) or 1.0
    order = sorted(
        set(tags.values()), key=lambda t: (not t, not t.isdigit(), int(t) if t.isdigit() else 0, t)
    )
    stages = []
    for tag in order:
        cost = totals.get(tag, Cost())
        stages.append(
            StageView(
                tag,
                device_of(editor.root, tag),
                sum(1 for t in tags.values() if t == tag),
                cost.params,
                cost.activation_bytes(),
                node_load(cost, "memory") / whole,
            )
        )
    cuts = {(c.src, c.src_port, c.dst, c.dst_port): c for c in cut_wires(design, report)}
    return PlacementView(tuple(stages), tags, cuts)
