"""What validation finds: :class:`Issue` records, :class:`NodeInfo` per node, the :class:`Report`.

Each node's tensors are held twice: as :class:`~designer.core.tensor.TensorSpec` (``in_specs``,
``out_specs``: sizes, symbols, dtype) and in the classic tuple view (``in_shapes``, ``out_shapes``:
``None`` where a size is symbolic), which most consumers read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from designer.core.shapes import Shape, format_shape
from designer.core.tensor import DEFAULT_DTYPE, TensorSpec


@dataclass(frozen=True)
class Issue:
    """One problem, anchored to a node (``up1/cat`` inside composites) and maybe a port."""

    node: str | None
    port: str | None
    block: str | None
    code: str
    message: str
    hint: str = ""
    severity: str = "error"
    param: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.node is not None:
            where = f"{self.block} `{self.node}`" if self.block else f"`{self.node}`"
            where += f" {self._port_text()}: " if self.port else ": "
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}{self.message}{hint}"

    def _port_text(self) -> str:
        return f"port {self.port}"

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def nested_in(self, parent: str) -> Issue:
        """This issue of a composite's body, re-anchored as ``parent/inner``."""
        node = parent if self.node is None else f"{parent}/{self.node}"
        return replace(self, node=node)


@dataclass(slots=True)
class NodeInfo:
    """What inference found for one node. An unwired optional input is None in the in_ fields."""

    block: str
    values: dict[str, Any]
    in_specs: tuple[TensorSpec | None, ...]
    out_specs: tuple[TensorSpec, ...]
    params: int
    ports: tuple[str, ...] = ()  # output port names, parallel to out_specs
    repeat: int | None = None  # copies of a repeated node (designer.core.repeat); params count all

    @property
    def in_shapes(self) -> tuple[Shape | None, ...]:
        """The input specs' sizes (``None`` where symbolic)."""
        return tuple([None if s is None else s.shape for s in self.in_specs])

    @property
    def out_shapes(self) -> tuple[Shape, ...]:
        """The output specs' sizes (``None`` where symbolic), parallel to ``ports``."""
        return tuple([s.shape for s in self.out_specs])

    @property
    def shape(self) -> Shape | None:
        """The shape to show on the node: its first output (an Output node shows its input)."""
        if self.out_shapes:
            return self.out_shapes[0]
        return self.in_shapes[0] if self.in_shapes else None

    @property
    def spec(self) -> TensorSpec | None:
        """The spec to show on the node, as ``shape``."""
        if self.out_specs:
            return self.out_specs[0]
        return self.in_specs[0] if self.in_specs else None


def _plain_specs(specs: tuple[TensorSpec | None, ...]) -> bool:
    """Float32 with only the batch symbolic: what the tuple view says in full."""
    return all(s is None or (s.dtype == DEFAULT_DTYPE and not s.names) for s in specs)


class Report:
    """The result of validating a design: each node's :class:`NodeInfo`, the issues, the walk
    order, the seconds it took and how many nodes were inferred anew. (A plain class: making a
    dataclass costs every process that imports this module half a millisecond.)"""

    __slots__ = ("issues", "nodes", "order", "recomputed", "seconds")

    def __init__(
        self,
        nodes: dict[str, NodeInfo] | None = None,
        issues: list[Issue] | None = None,
        order: list[str] | None = None,
        seconds: float = 0.0,
        recomputed: int = 0,
    ) -> None:
        self.nodes: dict[str, NodeInfo] = {} if nodes is None else nodes
        self.issues: list[Issue] = [] if issues is None else issues
        self.order: list[str] = [] if order is None else order
        self.seconds = seconds
        self.recomputed = recomputed

    def __repr__(self) -> str:
        return (
            f"Report({len(self.nodes)} nodes, {len(self.issues)} issues, "
            f"{self.seconds * 1000:.2f} ms, {self.recomputed} recomputed)"
        )

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.nodes.values())

    def issues_for(self, node_id: str) -> list[Issue]:
        """Issues of a node, including those inside it when it is a composite instance."""
        return [
            i for i in self.issues if i.node == node_id or (i.node or "").startswith(node_id + "/")
        ]

    def to_json(self) -> dict[str, Any]:
        """Plain data; ``spec`` and ``output_specs`` appear where specs say more than the shapes
        (a dtype other than float32, named symbolic sizes)."""
        return {
            "valid": self.ok,
            "total_params": self.total_params,
            "nodes": [_node_json(n, self.nodes[n]) for n in self.order if n in self.nodes],
            "issues": [i.to_json() for i in self.issues],
        }


def _node_json(node_id: str, info: NodeInfo) -> dict[str, Any]:
    entry = {
        "id": node_id,
        "block": info.block,
        "shape": None if info.shape is None else list(info.shape),
        "output_shapes": [list(s) for s in info.out_shapes],
        "params": info.params,
    }
    if info.repeat is not None:
        entry["repeat"] = info.repeat
    if not _plain_specs((info.spec,)):
        entry["spec"] = info.spec.to_json()
    if not _plain_specs(info.out_specs):
        entry["output_specs"] = [s.to_json() for s in info.out_specs]
    return entry


def describe(report: Report, node_id: str) -> str:
    """One line for a node: shape and parameter count."""
    info = report.nodes.get(node_id)
    if info is None:
        return "?"
    copies = f"  ×{info.repeat}" if info.repeat is not None else ""
    return f"{format_shape(info.spec or info.shape)}  {info.params:,} params{copies}"
