"""Per-node training statistics on the canvas: computed on a thread, drawn under each node.

:class:`NodeStatistics` is mixed into :class:`designer.gui.trainpanel.TrainPanel`: it runs
:class:`designer.train.overlay.Probe` from the run's last weights file (or fresh weights);
:class:`NodeOverlay` adds a line of the result to each node of the canvas.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.gui.theme import WARNING
from designer.gui.worker import Worker

if TYPE_CHECKING:
    from designer.gui.host import Host


class NodeStatistics:
    """The probe of the current run; expects the state :class:`~.trainpanel.TrainPanel` keeps."""

    app: Host

    def set_overlay(self, on: bool) -> None:
        """Show per-node statistics on the canvas (computed now, then after every epoch)."""
        self.overlay.on = on
        if on:
            self._probe()

    def _probe(self) -> None:
        """Compute node statistics on a thread from the run's last weights (or fresh ones)."""
        if self.probing is not None and self.probing.busy:
            self.probe_again = True
            return
        probe = self.probe if self.job is not None else None
        if probe is None:
            from designer.train.overlay import Probe

            try:
                probe = self.probe = Probe(self.app.editor.root.copy(), self.options())
            except ValueError as exc:
                self.app.say(f"node statistics need data: {exc}", WARNING)
                return
        last = Path(probe.options.out) / "last.safetensors"
        if self.job is not None and not self.saved:  # the file, if any, is an older run's
            if self.job.state in ("running", "stopping"):
                return  # fresh weights would draw from the run's random generator: wait
            last = None
        weights = last if last and last.is_file() else None
        self.probing = Worker(probe.run, weights)
        self.probing.fresh = weights is None
        self.probe_again = False

    def _poll_probe(self) -> None:
        probing = self.probing
        if probing is None or probing.busy:
            return
        self.probing = None
        if probing.error:
            self.app.say(f"node statistics failed: {probing.error}", WARNING)
        else:
            self.overlay.stats = probing.result
        if self.probe_again:
            self._probe()


class NodeOverlay:
    """A line of training statistics added to each node of the canvas (top level only)."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.on = False
        self.stats: dict | None = None
        self.items: dict[str, tuple[int, int, int]] = {}  # node -> (node item, attribute, text)
        self.shown: dict[str, str] = {}

    def sync(self) -> None:
        """Keep the lines in step with the canvas (nodes are redrawn, added and deleted)."""
        nodes = self.app.node_items()
        wanted = self.stats if self.on and self.stats and not self.app.editor.scope else {}
        for node in [n for n in self.items if n not in wanted or n not in nodes]:
            self._remove(node)
        for node, stats in wanted.items():
            item = nodes.get(node)
            if item is None:
                continue
            if node not in self.items or self.items[node][0] != item:
                self._remove(node)
                with dpg.node_attribute(
                    parent=item, attribute_type=dpg.mvNode_Attr_Static
                ) as attribute:
                    text = dpg.add_text("")
                self.items[node] = (item, attribute, text)
            line = stats.text()
            if self.shown.get(node) != line:
                self.shown[node] = line
                text = self.items[node][2]
                dpg.set_value(text, line)
                dpg.configure_item(text, color=WARNING if stats.suspicious else (120, 200, 255))

    def _remove(self, node: str) -> None:
        _, attribute, _ = self.items.pop(node, (None, None, None))
        self.shown.pop(node, None)
        if attribute is not None and dpg.does_item_exist(attribute):
            dpg.delete_item(attribute)
