"""Placement tags: what a node's ``device`` attribute may say, and the issues validation reports.

A tag is a device name (``cpu``, ``cuda``, ``cuda:N``, ``meta``, ``mps``) or a stage index that
the design's ``meta["stages"]`` maps to a device. Whether a GPU exists is checked when a model is
built or run, not here, so that design files stay portable.
"""

from __future__ import annotations

import re

from designer.core.graph import Design
from designer.core.report import Issue

TAG = "device"  # the node attribute
DEVICE = re.compile(r"^(cpu|meta|mps|cuda(:\d{1,3})?)$")
STAGE = re.compile(r"^\d{1,3}$")


def tag_of(design: Design, node_id: str) -> str:
    """A node's placement tag, '' when it has none."""
    return design.node(node_id).get(TAG) or ""


def tag_problem(tag: str, stages: int) -> str | None:
    """Why a tag cannot be placed (with the fix), or None."""
    if not tag or DEVICE.match(tag):
        return None
    if STAGE.match(tag):
        if int(tag) < stages:
            return None
        return f"stage {tag} has no device: the design declares {stages} stage(s)"
    return f"{tag!r} is not a device: use cpu, cuda, cuda:N, meta or a stage index"


def device_of(design: Design, tag: str) -> str | None:
    """The device a tag runs on: a stage's device, the device itself, or None (the model's)."""
    if STAGE.match(tag or ""):
        stages = design.meta.get("stages") or []
        return stages[int(tag)] if int(tag) < len(stages) else None
    return tag or None


def placement_issues(design: Design) -> list[Issue]:
    """An issue on every node whose tag cannot be placed, and on the design's bad stage devices."""
    stages = design.meta.get("stages") or []
    issues = []
    for k, device in enumerate(stages):
        if not isinstance(device, str) or not DEVICE.match(device):
            message = f"stage {k} is mapped to {device!r}, which is not a device"
            issues.append(Issue(None, None, None, "device", message, "use cpu, cuda or cuda:N"))
    for node_id, tag in design.graph.nodes(data=TAG):
        problem = tag_problem(tag, len(stages)) if tag else None
        if problem:
            block = design.node(node_id)["type"]
            fix = "pick a device or stage in the inspector, or split again with designer place"
            issues.append(Issue(node_id, None, block, "device", problem, fix))
    return issues
