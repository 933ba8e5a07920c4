"""The forward's variable names: running ``x``, numbered skips, labelled inputs and outputs."""

from __future__ import annotations

from designer.live.names import Namespace, node_label
from designer.live.plan_types import Step
from designer.live.units import RawStep


class Variables:
    """Names for every value: running ``x``, numbered skips, labelled inputs and outputs."""

    def __init__(self, design, inputs, outputs, steps, model, reserved) -> None:
        self.design, self.steps, self.model = design, steps, model
        self.names = Namespace(reserved)
        self.name_of: dict[tuple[str, str], str] = {}
        self.inline: set[int] = set()
        n = len(steps)
        uses: dict[tuple[str, str], list[int]] = {}
        defined: dict[tuple[str, str], int] = {(i, "out"): -1 for i in inputs}
        for k, step in enumerate(steps):
            for key in step.args:
                uses.setdefault(key, []).append(k)
            for port in step.ports:
                defined[(step.unit.last, port)] = k
        self.feeds = {o: design.inputs_of(o)["in"] for o in outputs}
        for source in self.feeds.values():
            uses.setdefault(source, []).append(n)
        for i in inputs:
            self.name_of[(i, "out")] = self.names.take(node_label(design, i), "x")
        running = self._running(defined, uses, n)
        self._label_outputs(outputs, defined, uses, n)
        self._assign(defined, uses, running, inputs)

    def _running(self, defined, uses, n) -> set:
        single_out = {k for k, s in enumerate(self.steps) if len(s.ports) == 1}
        return {
            key
            for key, k in defined.items()
            if k >= 0 and k in single_out and uses.get(key) == [k + 1] and k + 1 < n
        }

    def _label_outputs(self, outputs, defined, uses, n) -> None:
        """The model names its results after the Output labels; a block returns inline."""
        for output, source in self.feeds.items():
            if source in self.name_of or uses.get(source) != [n]:
                continue
            last = defined.get(source) == n - 1 and len(self.steps[n - 1].ports) == 1
            if not self.model and len(outputs) == 1 and last:
                self.inline.add(n - 1)
                self.name_of[source] = ""
            elif self.model:
                self.name_of[source] = self.names.take(node_label(self.design, output), "out")

    def _assign(self, defined, uses, running, inputs) -> None:
        first_run = min((defined[k] for k in running), default=None)
        x_input = [i for i in inputs if self.name_of[(i, "out")] == "x"]
        can_reuse_x = bool(x_input) and max(uses.get((x_input[0], "out"), [0])) <= (
            first_run if first_run is not None else -1
        )
        run_name = "x" if can_reuse_x else self.names.take("x" if "x" not in self.names else "h")
        counter = 1
        for key, k in sorted(defined.items(), key=lambda kv: kv[1]):
            if key in self.name_of:
                continue
            if k >= 0 and not self.steps[k].args and key in uses:  # a Parameter: its own name
                self.name_of[key] = self.names.take(node_label(self.design, key[0]), "x")
            elif key in running:
                self.name_of[key] = run_name
            elif key in uses:
                while f"x{counter}" in self.names:
                    counter += 1
                self.name_of[key] = self.names.take(f"x{counter}")

    def step(self, raw: RawStep, k: int) -> Step:
        outs = tuple(self.name_of.get((raw.unit.last, p)) for p in raw.ports)
        return Step(
            nodes=tuple(raw.unit.nodes),
            last=raw.unit.last,
            slot=raw.attr,
            args=tuple(self.name_of[a] for a in raw.args),
            outs=tuple(o or None for o in outs),
            ports=raw.ports,
            inline_return=k in self.inline,
            arg_keys=tuple(raw.args),
            branches=raw.branches,
            moves=raw.moves,
            part=raw.part,
            branch_moves=raw.branch_moves,
            keywords=raw.keywords if any(raw.keywords) else (),
            gate=raw.gate,
            rest=raw.rest,
        )

    def return_name(self, output: str) -> str | None:
        return self.name_of[self.feeds[output]] or None
