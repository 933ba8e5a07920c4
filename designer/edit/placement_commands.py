"""Placement in the editor: a node's device tag, a split over devices, and grouping that keeps them.

:meth:`PlacementCommands.set_devices` tags nodes with a device or a stage index (empty: untagged,
they run where the model is put); an unknown tag is kept and shown as a validation issue, as a file
holding it would be. :meth:`split` is ``designer place`` as one undo step: the same core functions
(:func:`designer.core.placement.auto_split` and ``apply_split``), so the editor and the command
line give the same design. Grouping a placed selection tags the new instance with its placement,
and ungrouping gives the inner nodes their instance's tag back.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from designer.core.graph import Design
from designer.core.placement import TAG, apply_split, auto_split, tag_of, tag_problem
from designer.edit.editor_core import EditorCore
from designer.edit.history import AttrSet
from designer.edit.refused import EditRefused

MAX_TAG = 32  # characters in a tag (what a design file holds)
BALANCE = ("memory", "macs")


@dataclass(frozen=True)
class MetaSet:
    """One entry of the design's ``meta`` changed from ``old`` to ``new`` (None: absent).

    ``node_id`` names a node the same command changed, so that listeners redraw it (a
    transaction reports the nodes of its steps)."""

    node_id: str
    key: str
    old: Any
    new: Any

    def apply(self, design: Design) -> None:
        _put(design.meta, self.key, self.new)

    def revert(self, design: Design) -> None:
        _put(design.meta, self.key, self.old)


def _put(meta: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        meta.pop(key, None)
    else:
        meta[key] = copy.deepcopy(value)


def parse_devices(text: str) -> list[str]:
    """``cuda:0, cuda:1`` -> the devices of a split, refused unless each is a device name."""
    devices = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in devices if d.isdigit() or tag_problem(d, 0)]
    if not devices or bad:
        what = f"{', '.join(bad)} is not a device" if bad else "no devices given"
        raise EditRefused(
            what, "list devices separated by commas, such as cuda:0,cuda:1 or cpu,cpu"
        )
    return devices


def checked_tag(node_id: str, tag: str | None) -> str | None:
    """A tag as typed, trimmed (None: untagged); refused only when no file could hold it."""
    tag = (tag or "").strip()
    if not tag:
        return None
    if len(tag) > MAX_TAG or not tag.isprintable():
        raise EditRefused(
            f"{node_id}: a device tag is a short name such as cuda:0, cpu or a stage index",
            f"type at most {MAX_TAG} characters",
        )
    return tag


class PlacementCommands(EditorCore):
    """Device tags, the automatic split, and grouping that keeps placement."""

    def set_device(self, node_id: str, tag: str | None) -> None:
        """Tag one node with a device or stage (``''`` or None: untagged)."""
        self.set_devices([node_id], tag)

    def set_devices(self, node_ids: Iterable[str], tag: str | None) -> None:
        """Tag several nodes alike, as one undo step."""
        self._top_level("set a device")
        nodes = list(dict.fromkeys(node_ids))
        for node_id in nodes:
            self._need(node_id)
        clean = checked_tag(", ".join(nodes[:2]), tag)
        changed = [n for n in nodes if self.design.node(n).get(TAG) != clean]
        if not changed:
            return
        what = changed[0] if len(changed) == 1 else f"{len(changed)} nodes"
        with self._transaction(f"Place {what} on {clean or 'the model device'}"):
            for node_id in changed:
                self._tag(node_id, clean)

    def split(self, devices: list[str] | str, by: str = "memory") -> dict[str, int]:
        """Split the design into contiguous stages over ``devices`` (stage k on the k-th), the
        chosen cost balanced and the fewest bytes cut, as ``designer place`` does; returns each
        node's stage."""
        self._top_level("split the model")
        devices = parse_devices(devices if isinstance(devices, str) else ",".join(devices))
        if by not in BALANCE:
            raise EditRefused(f"cannot balance by {by!r}", "balance by memory or macs")
        if not len(self.design):
            raise EditRefused("there is nothing to split", "add blocks first")
        report = self.report
        errors = [i for i in report.errors if i.code != "device"]  # a split replaces tags
        if errors:
            first = errors[0]
            raise EditRefused(
                f"the design has {len(errors)} error(s), first {first.node}: {first.message}",
                "fix them first (see the issues list)",
            )
        try:
            stages = auto_split(self.design, report, len(devices), by)
        except ValueError as exc:
            raise EditRefused(str(exc), "give fewer devices") from None
        placed = Design()
        placed.graph, placed.meta = self.design.graph.copy(), dict(self.design.meta)
        apply_split(placed, stages, devices)
        self._adopt(placed, f"Split over {','.join(devices)} by {by}")
        return stages

    def clear_placement(self) -> None:
        """Untag every node and forget the stages' devices (one undo step)."""
        self._top_level("remove the placement")
        placed = Design()
        placed.graph, placed.meta = self.design.graph.copy(), dict(self.design.meta)
        for node_id in placed.node_ids():
            placed.node(node_id).pop(TAG, None)
        placed.meta.pop("stages", None)
        self._adopt(placed, "Remove placement")

    # -- grouping keeps placement -----------------------------------------------------------------
    def group(self, nodes: Iterable[str], name: str, promote=(), doc: str = "") -> str:
        """Group as :meth:`BlockCommands.group` does; the instance runs where its nodes did.

        Refused when the nodes sit on different devices: a block instance runs on one."""
        chosen = list(dict.fromkeys(nodes))
        tags = sorted({tag_of(self.design, n) for n in chosen if n in self.design} - {""})
        if len(tags) > 1:
            where = " and ".join(f"stage {t}" if t.isdigit() else t for t in tags)
            raise EditRefused(
                f"the selection is placed on {where}: a block runs on one device",
                "group nodes of one stage, or give them one device in the inspector first",
            )
        with self._transaction(f"Group {len(chosen)} nodes into {name}"):
            instance = super().group(chosen, name, promote, doc)  # type: ignore[misc]
            if tags:
                self._tag(instance, tags[0])
        return instance

    def ungroup(self, instance: str) -> list[str]:
        """Ungroup as :meth:`BlockCommands.ungroup` does; the nodes keep the instance's tag."""
        tag = self._need(instance).get(TAG)
        with self._transaction(f"Ungroup {instance}"):
            nodes = super().ungroup(instance)  # type: ignore[misc]
            for node_id in nodes if tag else ():
                self._tag(node_id, tag)
        return nodes

    # -- steps ------------------------------------------------------------------------------------
    def _tag(self, node_id: str, tag: str | None) -> None:
        old = self.design.node(node_id).get(TAG)
        self._do(AttrSet(node_id, TAG, old, tag))

    def _adopt(self, placed: Design, label: str) -> None:
        """Take the tags and stages of ``placed`` (a copy of the shown design), one undo step."""
        changed = [
            n
            for n in self.design.node_ids()
            if self.design.node(n).get(TAG) != placed.node(n).get(TAG)
        ]
        old, new = self.design.meta.get("stages"), placed.meta.get("stages")
        anchor = (changed or self.design.node_ids() or [None])[0]
        if anchor is None:  # no nodes: nothing is placed, whatever the stages say
            return
        with self._transaction(label):
            for node_id in changed:
                self._tag(node_id, placed.node(node_id).get(TAG))
            if old != new:
                self._do(MetaSet(anchor, "stages", copy.deepcopy(old), copy.deepcopy(new)))

    def _top_level(self, what: str) -> None:
        if self.scope:
            raise EditRefused(
                f"cannot {what} inside a block: its nodes run where its instance is placed",
                "go back to the design and place the block's instance",
            )
