"""The pipeline training script: ``templates/pipeline.py.j2`` around the recipe and its
``pipeline_loop`` module, the model cut into the stages of the design's placement.

A stage is a run of equally placed modules along the model's forward (untagged modules join the
run they sit in); stage k after the first begins at its first module, which becomes the split
point ``torch.distributed.pipelining`` cuts before (``up1``, or ``stem.2`` inside a Sequential
that placement cuts). Functional ops before that module run in the previous stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from designer.codegen.writer import CodegenError, _environment, ruff_format
from designer.core.device_tags import DEVICE, device_of, tag_of
from designer.core.graph import Design
from designer.live.placed import is_placed
from designer.live.plan import make_plan
from designer.live.plan_types import Scope, Step
from designer.train.script import plain, recipe, sort_imports

MODULE = "pipeline_loop"  # the recipe module the pipeline script adds


class NotPlacedError(CodegenError):
    """A design without placement: there are no stages to pipeline."""


@dataclass(frozen=True)
class StagePlan:
    """The stages of a placed model: the module each begins with, the device each runs on."""

    splits: tuple[str, ...]  # the first module of stages 1, 2, ...
    devices: tuple[str, ...]
    tags: tuple[str, ...]


def _modules(scope: Scope, step: Step) -> list[str]:
    """The nodes of a forward step that are modules, in the order they run."""
    nodes = [n for _, branch in step.branches for n in branch] if step.parallel else step.nodes
    return [n for n in nodes if scope.path_of(n) is not None]


def _split_name(scope: Scope, step: Step, node: str) -> str:
    """The module a stage begins with: the attribute itself when the step calls it whole."""
    path = scope.path_of(node)
    whole = step.part is None and not step.parallel and node == step.nodes[0]
    return step.slot if whole and path in (step.slot, f"{step.slot}.0") else path


def _runs(design: Design, scope: Scope) -> list[tuple[str, str]]:
    """(tag, first module) of each run of equally tagged modules along the forward."""
    found: list[tuple[str, str]] = []
    for step in scope.steps:
        if step.dead or step.slot is None:
            continue
        for node in _modules(scope, step):
            tag = tag_of(design, node)
            if tag and (not found or found[-1][0] != tag):
                found.append((tag, _split_name(scope, step, node)))
    tags = [tag for tag, _ in found]
    for tag in tags:
        if tags.count(tag) > 1:
            raise CodegenError(
                f"the modules placed on {tag!r} do not run one after another (the forward "
                "leaves and comes back), so they cannot be one pipeline stage; split the design "
                "again with designer place"
            )
    return found


def _device(design: Design, tag: str, k: int) -> str:
    device = device_of(design, tag)
    if device is None or not DEVICE.match(device):
        raise CodegenError(f"stage {k} ({tag!r}) has no device; add it to the design's stages")
    if device.split(":")[0] not in ("cpu", "cuda"):
        raise CodegenError(f"stage {k} is placed on {device}; pipeline stages run on cpu or cuda")
    return device


def stage_plan(design: Design, scope: Scope) -> StagePlan:
    """The stages of a placed design's model, refusing what a pipeline cannot run."""
    if not is_placed(design):
        raise NotPlacedError(
            "--pipeline needs a placed design: split it first with designer place DESIGN "
            "--devices cpu,cpu -o PLACED.json (one device per stage)"
        )
    found = _runs(design, scope)
    if len(found) < 2:
        raise NotPlacedError(
            "--pipeline needs at least two stages, but every module of the design is placed "
            "on one; split it with designer place DESIGN --devices A,B -o PLACED.json"
        )
    tags = tuple(tag for tag, _ in found)
    devices = tuple(_device(design, tag, k) for k, tag in enumerate(tags))
    return StagePlan(tuple(name for _, name in found[1:]), devices, tags)


def plan_stages(design: Design, input_shapes=None) -> StagePlan:
    """The stages of a placed design (see :func:`stage_plan`)."""
    return stage_plan(design, make_plan(design, input_shapes).model)


def render_pipeline_script(
    design: Design,
    module: str,
    class_name: str | None = None,
    *,
    input_shapes=None,
    templates: str | Path | None = None,
    fmt: bool = True,
) -> str:
    """The pipeline training script for a placed ``design`` whose model ``module`` holds."""
    import jinja2

    if not module.isidentifier():
        raise CodegenError(f"{module!r} is not a module name the script can import")
    scope = make_plan(design, input_shapes, class_name=class_name).model
    plan = stage_plan(design, scope)
    imports, body = recipe((MODULE,))
    try:
        source = (
            _environment(templates)
            .get_template("pipeline.py.j2")
            .render(
                design=plain(design.name),
                module=module,
                class_name=scope.name,
                stages=plan,
                splits=repr(plan.splits),
                devices=repr(plan.devices),
                on_cpu=", ".join(f'{arg}="cpu"' for arg in scope.placement.devices.values()),
                imports=imports,
                recipe=body,
            )
        )
    except jinja2.TemplateError as exc:
        raise CodegenError(f"template error: {exc}") from None
    try:
        compile(source, "<pipeline script>", "exec")
    except SyntaxError as exc:
        raise CodegenError(
            f"the pipeline template gave invalid Python (line {exc.lineno})"
        ) from None
    return ruff_format(sort_imports(source, module)) if fmt else source
