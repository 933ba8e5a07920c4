"""Model > Split over devices: the dialog, and the legend of a placed design over the canvas.

:class:`SplitDialog` asks for the devices (``cuda:0,cuda:1``, or ``cpu,cpu`` for two stages on one
machine) and what to balance, then runs :meth:`designer.edit.editor.Editor.split`, the command
``designer place`` shares, as one undo step. :class:`PlacementLegend` sits in the canvas's
bottom-right corner while any node is placed: each placement's colour, parameters, activation
memory and share, and the cut wires with the bytes each moves per sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.core.cost import human_bytes
from designer.edit.placement_commands import BALANCE
from designer.gui.present import PlacementView, placement_view
from designer.gui.theme import CUT, MUTED, UNTAGGED, device_colour

if TYPE_CHECKING:
    from designer.gui.host import Host

Box = tuple[tuple[float, float], tuple[float, float]]
SWATCH = 14  # pixels: a colour square of the legend
CUTS_LISTED = 6  # cut wires the legend names one by one
HELP = (
    "Stage k runs on the k-th device. The split keeps the data flow's order, balances the "
    "chosen cost and cuts the fewest bytes; cpu,cpu makes two stages on one machine. "
    "Ctrl+Z undoes it; the inspector's device field moves single nodes."
)


class SplitDialog:
    """Asks for devices and the cost to balance, then splits the design."""

    def __init__(self, app: Host) -> None:
        self.app = app
        with dpg.window(
            label="Split over devices",
            show=False,
            modal=True,
            autosize=True,
            no_collapse=True,
            no_saved_settings=True,
        ) as self.window:
            self.devices = dpg.add_input_text(
                label="devices", default_value="cuda:0,cuda:1", width=240, hint="cuda:0,cuda:1"
            )
            app.add_text_input(self.devices)
            self.by = dpg.add_radio_button(list(BALANCE), default_value="memory", horizontal=True)
            dpg.add_text(HELP, wrap=380, color=MUTED)
            with dpg.group(horizontal=True):
                self.button = dpg.add_button(
                    label="Split", width=90, callback=app.guard(lambda *_: self.accept())
                )
                dpg.add_button(
                    label="Remove placement", callback=app.guard(lambda *_: self.remove())
                )
                dpg.add_button(label="Cancel", width=90, callback=lambda *_: self.close())

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def open(self) -> None:
        """Show the dialog, filled with the design's own stages when it has some."""
        stages = self.app.editor.root.meta.get("stages")
        if stages:
            dpg.set_value(self.devices, ",".join(map(str, stages)))
        width = dpg.get_viewport_client_width()
        dpg.configure_item(self.window, show=True, pos=(max(0, width // 2 - 200), 200))

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def choose(self, devices: str, by: str = "memory") -> None:
        """Fill the dialog as a user would (tests and scripts)."""
        dpg.set_value(self.devices, devices)
        dpg.set_value(self.by, by)

    def accept(self) -> None:
        """Split (a refusal leaves the dialog open and says why in the status bar)."""
        editor = self.app.editor
        devices = dpg.get_value(self.devices)
        editor.split(devices, dpg.get_value(self.by))
        self.close()
        placement = placement_view(editor)
        if placement is not None:
            shares = ", ".join(f"{s.name} {s.share:.0%}" for s in placement.stages if s.tag)
            self.app.say(f"split over {devices}: {shares}; {placement.summary()}")

    def remove(self) -> None:
        self.app.editor.clear_placement()
        self.close()
        self.app.say("placement removed: every node runs where the model is put")


class PlacementLegend:
    """A small window over the canvas's bottom-right corner while the design is placed."""

    def __init__(self) -> None:
        with dpg.window(
            show=False,
            no_title_bar=True,
            no_resize=True,
            no_move=True,
            no_collapse=True,
            no_scrollbar=True,
            autosize=True,
            no_saved_settings=True,
            no_focus_on_appearing=True,
        ) as self.window:
            self.body = dpg.add_group()
        self.shown: PlacementView | None = None
        self._placed: tuple | None = None

    def poll(self, placement: PlacementView | None, canvas: Box) -> None:
        """Show ``placement`` (hidden when None) and keep the window in the canvas's corner."""
        if placement is not self.shown:
            self.shown = placement
            dpg.configure_item(self.window, show=placement is not None)
            if placement is not None:
                self._fill(placement)
        if placement is not None:
            self._place(canvas)

    def lines(self) -> list[str]:
        """Every line of text the legend shows (tests read it)."""
        return [dpg.get_value(i) for i in self._texts()]

    def _texts(self) -> list[int]:
        found, todo = [], [self.body]
        while todo:
            item = todo.pop(0)
            if dpg.get_item_type(item) == "mvAppItemType::mvText":
                found.append(item)
            todo.extend(dpg.get_item_children(item, 1) or [])
        return found

    def _fill(self, placement: PlacementView) -> None:
        dpg.delete_item(self.body, children_only=True)
        dpg.add_text("Devices (batch 1, float32)", parent=self.body, color=MUTED)
        for stage in placement.stages:
            index = placement.index(stage.tag)
            colour = UNTAGGED if index is None else device_colour(index)
            self._row(stage.line(), colour, square=True)
        self._row(placement.summary(), CUT, square=False)
        cuts = sorted(placement.cuts.values(), key=lambda c: -c.bytes_per_sample)
        for cut in cuts[:CUTS_LISTED]:
            text = f"  {cut.src}.{cut.src_port} → {cut.dst}.{cut.dst_port}: "
            dpg.add_text(text + human_bytes(cut.bytes_per_sample), parent=self.body)
        if len(cuts) > CUTS_LISTED:
            more = f"  … {len(cuts) - CUTS_LISTED} more (each input pin's tooltip)"
            dpg.add_text(more, parent=self.body, color=MUTED)

    def _row(self, text: str, colour: tuple, square: bool) -> None:
        with dpg.group(horizontal=True, parent=self.body):
            with dpg.drawlist(SWATCH * 2, SWATCH):
                if square:
                    dpg.draw_rectangle((0, 0), (SWATCH, SWATCH), color=colour, fill=colour)
                else:
                    middle = SWATCH / 2
                    dpg.draw_line((0, middle), (2 * SWATCH, middle), color=colour, thickness=4)
            dpg.add_text(text)

    def _place(self, canvas: Box) -> None:
        (x, y), (w, h) = canvas
        width, height = dpg.get_item_rect_size(self.window) or (0, 0)
        pos = (int(x + w - width - 10), int(y + h - height - 10))
        if pos != self._placed:
            self._placed = pos
            dpg.set_item_pos(self.window, list(pos))
