"""A mutator for design files: the hostile inputs a designer must survive.

Each mutation works on the parsed JSON tree (wrong types, huge numbers, deep nesting, unknown keys,
unicode, duplicated ids, cycles, deleted keys) or on the text (truncation, byte flips). Seeded, so a
failure is reproducible from its seed.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**12,
    -(10**18),
    2**63,
    1e308,
    -0.0,
    float("nan"),
    float("inf"),
    "",
    "é🙂\u202e",
    "a" * 10_000,
    "__import__('os').system('echo pwned')",
    [],
    {},
    [1, 2, 3],
    {"expr": "in_channels // 0"},
    {"expr": "__import__('os')"},
    "x.out",
    "..",
    "\x00",
    {"expr": "'x' * 99999 * 99999"},
    {"expr": "(1,) * 10 ** 9"},
    {"expr": "'%0999999999d' % 1"},
    {"expr": "9 ** 9 ** 9"},
    {"expr": "1 << 10 ** 9"},
]


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, (*prefix, i))
    return out


def _get(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _set(tree: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _get(tree, path[:-1])[path[-1]] = value
    return tree


def mutate_tree(tree: Any, rng: random.Random) -> Any:
    """One structural mutation of parsed design JSON."""
    tree = copy.deepcopy(tree)
    path = rng.choice(_paths(tree))
    kind = rng.randrange(9)
    target = _get(tree, path)
    if kind == 8 and isinstance(tree, dict) and isinstance(tree.get("blocks"), dict):
        return _block_loop(tree, rng)
    if kind == 0:
        return _set(tree, path, copy.deepcopy(rng.choice(HOSTILE_VALUES)))
    if kind == 1 and path:
        parent = _get(tree, path[:-1])
        del parent[path[-1]]
        return tree
    if kind == 2 and isinstance(target, dict):
        target[rng.choice(["prams", "idd", "x" * 50, "é", "__class__"])] = rng.choice(
            HOSTILE_VALUES
        )
        return tree
    if kind == 3 and isinstance(target, list) and target:
        target.append(copy.deepcopy(rng.choice(target)))  # duplicated ids and wires
        return tree
    if kind == 4:
        nested: Any = target
        for _ in range(rng.choice([10, 500, 5000])):
            nested = [nested]
        return _set(tree, path, nested)
    if (
        kind == 5
        and isinstance(tree, dict)
        and isinstance(tree.get("edges"), list)
        and tree["edges"]
    ):
        edge = rng.choice(tree["edges"])
        if isinstance(edge, dict) and "from" in edge and "to" in edge:
            src, dst = str(edge["from"]).split(".")[0], str(edge["to"]).split(".")[0]
            tree["edges"].append({"from": f"{dst}.out", "to": f"{src}.in9"})  # a cycle
        return tree
    if kind == 6 and isinstance(target, (int, float)) and not isinstance(target, bool):
        return _set(tree, path, rng.choice([target * 10**9, -target, target + 0.5, 0]))
    if kind == 7 and isinstance(target, str):
        return _set(
            tree, path, rng.choice([target[::-1], target + "é", target.upper(), target * 3])
        )
    return _set(tree, path, copy.deepcopy(rng.choice(HOSTILE_VALUES)))


def _block_loop(tree: dict, rng: random.Random) -> dict:
    """Make a block's inner node use a block of the file (itself included): loops and nesting."""
    blocks = [b for b in tree["blocks"].values() if isinstance(b, dict)]
    blocks = [b for b in blocks if isinstance(b.get("nodes"), list) and b["nodes"]]
    if blocks:
        nodes = [n for n in rng.choice(blocks)["nodes"] if isinstance(n, dict)]
        if nodes:
            rng.choice(nodes)["type"] = rng.choice(list(tree["blocks"]))
    return tree


def mutate_text(text: str, rng: random.Random) -> str:
    """One textual mutation: truncation, a flipped character, a spliced fragment, a byte order
    mark, a duplicated key or an integer literal of thousands of digits."""
    kind = rng.randrange(6)
    cut = rng.randrange(len(text))
    if kind == 0:
        return text[:cut]
    if kind == 1:
        return text[:cut] + chr(rng.randrange(0x20, 0x2FFF)) + text[cut + 1 :]
    if kind == 3:
        return "\ufeff" + text
    if kind == 4:
        brace = text.find("{", cut)
        return text if brace < 0 else text[: brace + 1] + '"name": "dup", ' + text[brace + 1 :]
    if kind == 5:
        digit = next((i for i in range(cut, len(text)) if text[i].isdigit()), -1)
        return text if digit < 0 else text[:digit] + "7" * 5000 + text[digit:]
    other = rng.randrange(len(text))
    return text[:cut] + text[other : other + rng.randrange(1, 200)] + text[cut:]


def mutated_files(text: str, seed: int):
    """An endless stream of (description, mutated text) from one design file."""
    rng = random.Random(seed)
    tree = json.loads(text)
    i = 0
    while True:
        i += 1
        if rng.random() < 0.25:
            yield f"text#{seed}:{i}", mutate_text(text, rng)
            continue
        mutated = tree
        for _ in range(rng.choice([1, 1, 2, 3])):
            try:
                mutated = mutate_tree(mutated, rng)
            except RecursionError:  # a deep nesting made earlier: keep it as it is
                break
        try:
            yield f"tree#{seed}:{i}", json.dumps(mutated)
        except (ValueError, RecursionError):
            continue
