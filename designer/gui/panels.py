"""The Cost and Code tabs, the Group dialog and the breadcrumb bar."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import dearpygui.dearpygui as dpg

from designer.blocks import UnknownBlockError
from designer.core.cost import COLUMNS, cost_rows, human, sort_rows
from designer.gui.theme import MUTED, WARNING

if TYPE_CHECKING:
    from designer.gui.host import Host

DEBOUNCE = 0.5  # seconds of quiet after an edit before the code is generated again


class CostPanel:
    """Parameters, MACs, activation memory and measured time per node in a sortable table."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.order: tuple[str, bool] = ("node", False)
        self.version = -1
        with dpg.group(parent=parent):
            self.total = dpg.add_text("", wrap=310)
            with dpg.table(
                header_row=True,
                sortable=True,
                resizable=True,
                scrollY=True,
                height=-1,
                row_background=True,
                callback=app.guard(lambda s, a, u: self.sort(a)),
            ) as self.table:
                self.columns = {
                    dpg.add_table_column(label=label): name
                    for name, label in zip(
                        COLUMNS, ("node", "block", "params", "MACs", "act.", "ms"), strict=True
                    )
                }

    def sort(self, specs: list | None) -> None:
        """The table's sort callback: ``[(column item, direction)]``."""
        if specs:
            column, direction = specs[0]
            self.order = (self.columns[column], direction < 0)
        self.refresh()

    def rows(self) -> list[tuple]:
        """The rows as shown, sorted, for the shown design."""
        editor = self.app.editor
        result = self.app.last_run()
        seconds = result.seconds_per_node() if result and not editor.scope else None
        rows = cost_rows(editor.design, editor.report, seconds)
        return sort_rows(rows, *self.order)

    def refresh(self) -> None:
        """Rebuild the rows (after an edit, a run or a sort)."""
        self.version = self.app.editor.version
        dpg.delete_item(self.table, children_only=True, slot=1)
        rows = self.rows()
        for node, block, params, macs, act, seconds in rows:
            with dpg.table_row(parent=self.table):
                dpg.add_text(node)
                dpg.add_text(block)
                dpg.add_text(human(params))
                dpg.add_text(human(macs))
                dpg.add_text(human(act, "B"))
                dpg.add_text("" if seconds is None else f"{seconds * 1000:.2f}")
        params, macs, act = (sum(r[i] for r in rows) for i in (2, 3, 4))
        dpg.set_value(
            self.total,
            f"total: {human(params)} params, {human(macs)} MACs, "
            f"{human(act, 'B')} activations (batch 1, float32)",
        )

    def poll(self) -> None:
        if self.version != self.app.editor.version:
            self.refresh()


class CodePanel:
    """The generated Python, regenerated on a thread after the design has been quiet a moment."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.version = -1
        self.changed_at = 0.0
        self.source = ""
        self._pending = False
        self._shown_source = ""
        self._thread: threading.Thread | None = None
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save…", callback=app.guard(lambda *_: self.ask_save()))
                dpg.add_button(label="Copy", callback=app.guard(lambda *_: self.copy()))
                self.note = dpg.add_text("", color=MUTED)
            self.text = dpg.add_input_text(
                multiline=True, readonly=True, width=-1, height=-1, tab_input=True
            )
            app.add_text_input(self.text)  # Ctrl+A and Ctrl+C select and copy the code there
            if app.mono_font is not None:
                dpg.bind_item_font(self.text, app.mono_font)
        with dpg.file_dialog(
            show=False,
            modal=True,
            width=700,
            height=420,
            default_filename="model",
            callback=app.guard(lambda s, a, u: self.save(python_path(a))),
        ) as self.dialog:
            dpg.add_file_extension(".py")

    @property
    def busy(self) -> bool:
        """Code is waiting to be generated or being generated."""
        thread = self._thread is not None and self._thread.is_alive()
        return thread or self._pending

    def poll(self) -> None:
        """Regenerate once the design has not changed for :data:`DEBOUNCE` seconds."""
        editor = self.app.editor
        now = time.monotonic()
        if editor.version != self.version:
            self.version, self.changed_at = editor.version, now
            self._pending = True
        busy = self._thread is not None and self._thread.is_alive()
        if self._pending and not busy and now - self.changed_at >= DEBOUNCE:
            self._pending = False
            design = editor.root.copy()
            self._thread = threading.Thread(target=self._generate, args=(design,), daemon=True)
            self._thread.start()
        source = self.source  # written by the generating thread
        if source is not self._shown_source:
            self._shown_source = source
            dpg.set_value(self.text, source)

    def _generate(self, design) -> None:
        from designer.codegen.writer import CodegenError, generate_code
        from designer.live.plan import PlanError

        try:
            self.source = generate_code(design)
        except (PlanError, CodegenError) as exc:
            self.source = "# The design cannot be generated yet:\n# " + str(exc).replace(
                "\n", "\n# "
            )
        except Exception as exc:  # reported in the tab, never fatal
            self.source = f"# internal error: {type(exc).__name__}: {exc}"

    def copy(self) -> None:
        dpg.set_clipboard_text(self.source)
        self.app.say("generated code copied to the clipboard")

    def ask_save(self) -> None:
        dpg.configure_item(self.dialog, show=True)

    def save(self, path: Path) -> None:
        """Write the generated code (bytes, as every file this tool writes)."""
        from designer.core.atomicfile import atomic_write

        if not self.source:
            self.app.say("the code is still being generated: try again in a moment", WARNING)
            return
        atomic_write(path, self.source.encode("utf-8"))
        self.app.say(f"generated code saved to {path}")


def python_path(app_data: dict) -> Path:
    """The file a Save dialog chose, ending in ``.py``."""
    path = Path(app_data.get("file_path_name") or "model.py")
    return path if path.suffix == ".py" else path.with_suffix(".py")


class GroupDialog:
    """Ctrl+G: name the new block and tick the inner parameters to promote."""

    def __init__(self, app: Host) -> None:
        self.app = app
        self.nodes: list[str] = []
        self.boxes: dict[tuple[str, str], int] = {}
        with dpg.window(
            label="Group into a block",
            show=False,
            modal=True,
            width=420,
            height=420,
            no_saved_settings=True,
        ) as self.window:
            self.name = dpg.add_input_text(label="block name", default_value="MyBlock", width=220)
            app.add_text_input(self.name)
            dpg.add_text("parameters to promote:", color=MUTED)
            self.params = dpg.add_child_window(height=-40)
            with dpg.group(horizontal=True):
                self.button = dpg.add_button(
                    label="Group", callback=app.guard(lambda *_: self.accept())
                )
                dpg.add_button(
                    label="Cancel",
                    callback=app.guard(lambda *_: dpg.configure_item(self.window, show=False)),
                )

    @property
    def visible(self) -> bool:
        return bool(dpg.is_item_shown(self.window))

    def close(self) -> None:
        dpg.configure_item(self.window, show=False)

    def open(self, nodes: list[str]) -> None:
        """Offer to group ``nodes``: one checkbox per parameter they have."""
        design = self.app.editor.design
        self.nodes, self.boxes = list(nodes), {}
        dpg.delete_item(self.params, children_only=True)
        for node in self.nodes:
            try:
                params = design.spec(design.node(node)["type"]).params
            except UnknownBlockError:  # nothing to promote on a node of an unknown type
                params = ()
            for param in params:
                self.boxes[(node, param.name)] = dpg.add_checkbox(
                    label=f"{node}.{param.name}", parent=self.params
                )
        dpg.configure_item(self.window, show=True, pos=(400, 200))

    def choose(self, name: str, promote: list[tuple[str, str]]) -> None:
        """Fill the dialog as a user would (tests and scripts)."""
        dpg.set_value(self.name, name)
        for key, box in self.boxes.items():
            dpg.set_value(box, key in promote)

    def accept(self) -> None:
        promote = [key for key, box in self.boxes.items() if dpg.get_value(box)]
        instance = self.app.editor.group(self.nodes, dpg.get_value(self.name).strip(), promote)
        dpg.configure_item(self.window, show=False)
        self.app.select_after_edit([instance])
        self.app.say(f"grouped {len(self.nodes)} nodes into {instance}")


class Breadcrumb:
    """Above the canvas: the design, then each open block; a click goes back to that level."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.shown: list[str] = []
        self.group = dpg.add_group(horizontal=True, parent=parent)

    def poll(self) -> None:
        path = self.app.editor.breadcrumb()
        if path == self.shown:
            return
        self.shown = path
        dpg.delete_item(self.group, children_only=True)
        for depth, text in enumerate(path):
            if depth:
                dpg.add_text(">", parent=self.group, color=MUTED)
            dpg.add_button(
                label=text,
                parent=self.group,
                small=True,
                user_data=depth,
                callback=self.app.guard(lambda s, a, d: self.app.editor.leave(d)),
            )
        if len(path) > 1:
            dpg.add_text("editing a block: changes apply to every instance", parent=self.group)
