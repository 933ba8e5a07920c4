"""The DearPyGui items of one node: made once, then only their changed texts are touched.

A node is a title, a static line with its block (hidden when the canvas is compact), one row per
input (its name, and on a wire from another device the bytes it moves; blank when compact; a
tooltip with the tensor that reaches it) and one row per output (its shape). :class:`NodeItems`
keeps the item ids of one node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dearpygui.dearpygui as dpg

from designer.gui.present import NodeView
from designer.gui.theme import CUT

BAD_PORT = (255, 90, 90)
PLAIN = (-255, 0, 0, 255)  # DearPyGui's "no colour of its own"


@dataclass
class NodeItems:
    """Item ids of one drawn node."""

    node: int
    block_row: int
    block: int
    inputs: dict[str, int] = field(default_factory=dict)  # port -> its text
    input_tips: dict[str, int] = field(default_factory=dict)  # port -> its tooltip's text
    outputs: list[int] = field(default_factory=list)
    attributes: dict[tuple[str, bool], int] = field(default_factory=dict)  # (port, output)
    theme: int | None = None
    tip: int | None = None  # the tooltip with the node's problems
    labels: dict[str, str] = field(default_factory=dict)  # port -> its text when not compact
    compact: bool = False


def draw(parent: int | str, view: NodeView, pos: list[float], compact: bool) -> NodeItems:
    """Make a node's items at grid position ``pos``."""
    with dpg.node(label=view.title, parent=parent, pos=pos) as node:
        with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static, show=not compact) as row:
            block = dpg.add_text(view.block_line)
        items = NodeItems(node, row, block, compact=compact)
        for port, tip, label in zip(view.inputs, view.input_tips, _labels(view), strict=False):
            items.labels[port] = label
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Input) as attr:
                items.inputs[port] = dpg.add_text("" if compact else label)
                with dpg.tooltip(parent=items.inputs[port]):
                    items.input_tips[port] = dpg.add_text(tip)
            items.attributes[port, False] = attr
        for port, text in zip(view.outputs, view.output_text, strict=True):
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Output) as attr:
                items.outputs.append(dpg.add_text(text))
            items.attributes[port, True] = attr
    return items


def update(items: NodeItems, old: NodeView, new: NodeView) -> None:
    """Touch only the texts that changed (the ports are the same)."""
    if old.title != new.title:
        dpg.configure_item(items.node, label=new.title)
    if old.block_line != new.block_line:
        dpg.set_value(items.block, new.block_line)
    for item, before, after in zip(items.outputs, old.output_text, new.output_text, strict=True):
        if before != after:
            dpg.set_value(item, after)
    for port, before, after in zip(new.inputs, old.input_tips, new.input_tips, strict=False):
        if before != after and port in items.input_tips:
            dpg.set_value(items.input_tips[port], after)
    for port, label in zip(new.inputs, _labels(new), strict=False):
        if items.labels.get(port) != label and port in items.inputs:
            items.labels[port] = label
            if not items.compact:
                dpg.set_value(items.inputs[port], label)


def _labels(view: NodeView) -> tuple[str, ...]:
    return view.input_labels or view.inputs


def set_compact(items: NodeItems, compact: bool) -> None:
    """Collapse the body to the title and output shapes (or show it whole again)."""
    items.compact = compact
    dpg.configure_item(items.block_row, show=not compact)
    for port, text in items.inputs.items():
        dpg.set_value(text, "" if compact else items.labels.get(port, port))


def _port_state(view: NodeView | None, port: str) -> str:
    if view is None:
        return ""
    return "bad" if port in view.bad_ports else "cut" if port in view.cut_ports else ""


def colour_ports(items: NodeItems, old: NodeView | None, new: NodeView) -> None:
    """Input names in red where the wire (or its absence) has an issue, else in the cut colour
    where the wire comes from another device."""
    colours = {"bad": BAD_PORT, "cut": CUT}
    for port, text in items.inputs.items():
        state = _port_state(new, port)
        if state != _port_state(old, port) or (old is None and state):
            dpg.configure_item(text, color=colours.get(state, PLAIN))


def show_problems(items: NodeItems, old: NodeView | None, new: NodeView) -> None:
    """The block line's tooltip lists the node's issues with their hints."""
    if old is not None and old.problems == new.problems:
        return
    if items.tip is not None:
        dpg.delete_item(items.tip)
        items.tip = None
    if new.problems:
        with dpg.tooltip(parent=items.block) as tip:
            dpg.add_text(new.problems, wrap=420)
        items.tip = tip
