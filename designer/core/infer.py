"""One node's inference: its input specs, then its output specs and parameter count, or its issues.

Identical nodes (same spec, parameters and input specs) anywhere in the process share one result
through a bounded memo, :data:`SHARED`: designs repeat their blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designer.core import repeat
from designer.core.registry import REGISTRY, no_params
from designer.core.report import Issue, NodeInfo
from designer.core.rules import call_with_symbols
from designer.core.shapes import NestedError, ShapeError
from designer.core.tensor import TensorSpec
from designer.core.wiring import Wiring, output_issues

Result = Any  # a NodeInfo, or the list of a node's issues

_SCALARS = (int, float, str, bool, type(None))
SHARED: dict[tuple, tuple[Any, NodeInfo]] = {}  # results shared by identical nodes anywhere
SHARED_MAX = 50_000
UNSHARED = ("Input", "Output")


def freeze(value: Any) -> Any:
    """A hashable copy of a raw params value (lists and dicts become tuples). Checked values need
    none: a ``kwargs`` parameter holds a hashable :class:`~designer.core.params.FrozenKwargs`."""
    if isinstance(value, dict):
        return tuple(
            sorted((k, v if isinstance(v, _SCALARS) else freeze(v)) for k, v in value.items())
        )
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def input_specs(wiring: Wiring, spec, node_id: str, infos: Mapping[str, NodeInfo]):
    """The specs wired into a node, by port order (None for an unwired optional input); None if
    an upstream output is unknown."""
    if spec is None:
        return ()
    into = wiring.into[node_id]
    simple = len(into) < 2 and not spec.optional_inputs  # no port order to look up
    specs = []
    for source in into.values() if simple else wiring.sources(node_id, spec):
        if source is None:
            specs.append(None)
            continue
        info = infos.get(source[0])
        if info is None:
            return None
        ports = info.ports
        index = 0 if ports and ports[0] == source[1] else _index(ports, source[1])
        if index is None or index >= len(info.out_specs):
            return None
        specs.append(info.out_specs[index])
    return tuple(specs)


def _index(ports: tuple[str, ...], port: str) -> int | None:
    return ports.index(port) if port in ports else None


def shared_infer(source, wiring: Wiring, spec, node_id: str, data: dict, in_specs, override):
    """:func:`infer`, reusing the result of an identical node elsewhere: same spec, parameters,
    input specs, Input override and port names (whether it has wiring issues depends on them).
    Inputs and Outputs, which take no work, are not shared."""
    if data["type"] in UNSHARED:
        return infer(source, wiring, spec, node_id, data, in_specs, override)
    params, signature = data["params"], wiring.port_signature(node_id)
    kinds = tuple(map(type, params.values()))  # 1, 1.0 and True are equal, not the same value
    key = (data["type"], id(spec), tuple(params.items()), kinds, in_specs, override, signature)
    if "repeat" in data:
        key = (*key, ("repeat", data["repeat"]))
    try:
        hit = SHARED.get(key)
    except TypeError:  # a list among the parameters
        key = (*key[:2], freeze(params), *key[3:])
        try:
            hit = SHARED.get(key)
        except TypeError:  # a value no key holds (a set): validation reports it, unshared
            return infer(source, wiring, spec, node_id, data, in_specs, override)
    if hit is not None and hit[0] is spec:
        return hit[1]
    result = infer(source, wiring, spec, node_id, data, in_specs, override)
    if isinstance(result, NodeInfo):
        if len(SHARED) >= SHARED_MAX:
            SHARED.clear()
        SHARED[key] = (spec, result)
    return result


def infer(source, wiring: Wiring, spec, node_id: str, data: dict, in_specs: tuple, override):
    """NodeInfo for one node, or the list of its issues. ``source`` resolves block types."""
    block = data["type"]
    if spec is None:
        return [_unknown_type(source, node_id, block)]
    issues = wiring.issues(node_id, spec)
    values, errors = spec.resolve(data["params"])
    if errors or issues:
        return issues + [
            Issue(node_id, None, block, "param", e.message, e.hint, param=name)
            for name, e in errors
        ]
    try:
        if override is not None:
            out = [_override_spec(override, values)]
        else:
            result = spec.infer(values, list(in_specs))
            out = result if isinstance(result, list) else [result] if spec.outputs else []
        count = 0 if spec.count is no_params else _count(spec, values, in_specs)
    except NestedError as exc:
        return [i.nested_in(node_id) for i in exc.issues]
    except ShapeError as exc:
        port = None if exc.port is None else _port_name(wiring, node_id, spec, exc.port)
        return [Issue(node_id, port, block, exc.code, exc.message, exc.hint)]
    ports = spec.outputs if spec.output_count is None else spec.output_ports(values, len(out))
    if ports and len(out) != len(ports):
        raise ValueError(f"block {block}: its rule gave {len(out)} outputs for {ports}")
    if spec.output_count is not None and (lost := output_issues(wiring, node_id, spec, ports)):
        return lost
    info = NodeInfo(block, values, in_specs, tuple(out), count, ports)
    return info if "repeat" not in data else _repeated(node_id, spec, data, info)


def _repeated(node_id: str, spec, data: dict, info: NodeInfo):
    """A repeated node's NodeInfo for all its copies, or its issues (designer.core.repeat)."""
    problem = repeat.value_problem(data["repeat"])
    if problem is not None:
        return [Issue(node_id, None, spec.name, "repeat", problem, "set repeat to a whole number")]
    if not repeat.repeatable(spec):
        return [repeat.not_repeatable(node_id, spec)]
    wired = [p for p, s in zip(spec.inputs[1:], info.in_specs[1:], strict=False) if s is not None]
    if wired:
        message = f"a repeated {spec.name} takes only its first input; {wired[0]} is wired"
        return [Issue(node_id, wired[0], spec.name, "repeat", message, f"unwire {wired[0]}")]
    return repeat.apply(node_id, spec, info.values, info, data["repeat"], _count)


def _count(spec, values: dict, in_specs: tuple) -> int:
    """The parameter count, from the inputs' tuple views."""
    shapes, plain = [], True
    for s in in_specs:
        shapes.append(None if s is None else s.shape)
        plain = plain and (s is None or None not in s.shape[1:])
    if plain:
        return spec.count(values, shapes)
    return call_with_symbols(spec.count, values, shapes, in_specs, spec.name)


def _override_spec(override, values: dict) -> TensorSpec:
    """An Input's spec given from outside: a spec, or full sizes with the declared dtype."""
    spec = override if isinstance(override, TensorSpec) else TensorSpec(tuple(override))
    if not spec.shape:
        raise ShapeError("the input shape is empty", "give N,C,...", code="param")
    if not isinstance(override, TensorSpec) and "dtype" in values:
        spec = spec.with_dtype(values["dtype"])
    return spec


def _unknown_type(source, node_id: str, block: str) -> Issue:
    import difflib  # only for this message: validation's imports stay few

    known = [s.name for s in REGISTRY] + list(source.blocks)
    close = difflib.get_close_matches(block, known, n=1)
    hint = f"did you mean {close[0]}?" if close else "pick a block type from the palette"
    return Issue(node_id, None, block, "unknown-type", f"unknown block type {block!r}", hint)


def _port_name(wiring: Wiring, node_id: str, spec, index: int) -> str:
    ports = spec.input_ports(len(wiring.into[node_id]))  # a fixed block's own inputs
    return ports[index] if index < len(ports) else str(index)
