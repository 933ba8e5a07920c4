"""The inspector: the selected node's label and parameters, widgets generated from Param specs.

Integers and numbers get number fields (their range in the tooltip), choices a combo, switches a
checkbox; lists, optional values and ``3 | (3, 5) | "same"`` parameters a text field read by
:func:`designer.core.paramtext.from_text`. A value no widget of its kind can hold (an
out-of-range or mistyped value from a file) is shown as it is, in a text field, until fixed. The
editor checks every value and refuses invalid ones with the reason; the fields then show the
design's value again. The node's shapes and issues come below the fields, so that the fields do
not move when a warning appears. A node of an unknown block type shows what is known about it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dearpygui.dearpygui as dpg

from designer.blocks import UnknownBlockError
from designer.core.composite import is_expr
from designer.core.params import Param
from designer.core.paramtext import to_text
from designer.core.placement import device_of, tag_of
from designer.core.repeat import repeatable, shown
from designer.core.shapes import format_shape
from designer.gui.theme import ERROR, MUTED

if TYPE_CHECKING:
    from designer.gui.host import Host

NAME_WIDTH = 120


def widget_kind(param: Param) -> str:
    """Which widget edits a parameter: ``int``, ``float``, ``bool``, ``combo`` or ``text``."""
    if param.optional or param.kind in ("ints", "shape"):
        return "text"
    return {"int": "int", "float": "float", "bool": "bool", "choice": "combo"}[param.kind]


def shown_text(param: Param, value: Any) -> str:
    """A value as a text field shows it, valid or not."""
    try:
        return to_text(param, value)
    except Exception:  # an odd value from a file: show it as it is
        return str(value)


class Inspector:
    """Builds and refreshes the inspector panel inside ``parent``."""

    def __init__(self, app: Host, parent: int | str) -> None:
        self.app = app
        self.parent = parent
        self.node: str | None = None
        self.nodes: list[str] = []  # the selection it shows
        self.fields: dict[str, tuple[int, str]] = {}  # param -> (item, widget kind)
        self.label_field: int | None = None
        self.repeat_field: int | None = None
        self.device_field: int | None = None
        self.device_tips: list[int] = []
        self.summary: int | None = None
        self.show([])

    @property
    def editor(self):
        return self.app.editor

    def show(self, nodes: list[str]) -> None:
        """Rebuild for a selection: one node gets its fields, several a count."""
        dpg.delete_item(self.parent, children_only=True)
        self.fields, self.label_field, self.summary = {}, None, None
        self.repeat_field = self.device_field = None
        self.device_tips: list[int] = []
        self.nodes = list(nodes)
        self.node = nodes[0] if len(nodes) == 1 and nodes[0] in self.editor.design else None
        if self.node is None:
            text = f"{len(nodes)} nodes selected" if nodes else "Select a node to edit it."
            dpg.add_text(text, parent=self.parent, color=MUTED, wrap=300)
            if not nodes:
                dpg.add_text(_HELP, parent=self.parent, color=MUTED, wrap=300)
            elif not self.editor.scope:
                with dpg.table(header_row=False, parent=self.parent):
                    dpg.add_table_column(init_width_or_weight=NAME_WIDTH, width_fixed=True)
                    dpg.add_table_column()
                    self._device_row(self._present(nodes))
            return
        self._build(self.node)

    def _build(self, node_id: str) -> None:
        data = self.editor.design.node(node_id)
        try:
            spec = self.editor.design.spec(data["type"])
        except UnknownBlockError:
            spec = None
        with dpg.group(parent=self.parent):
            if spec is None:
                dpg.add_text(f"{data['type']}  ({node_id})", color=ERROR)
                dpg.add_text(_UNKNOWN.format(data["type"]), wrap=300, color=MUTED)
            else:
                dpg.add_text(f"{spec.name}  ({node_id})")
                dpg.add_text(spec.doc, wrap=300, color=MUTED)
            expanded = self.editor.expansion_of(node_id)
            if expanded:
                dpg.add_text(f"part of {expanded}, expanded in place (E collapses it)", wrap=300)
            with dpg.table(header_row=False, policy=dpg.mvTable_SizingStretchProp):
                dpg.add_table_column(init_width_or_weight=NAME_WIDTH, width_fixed=True)
                dpg.add_table_column()
                self._label_row(node_id, data["label"])
                if spec is not None and repeatable(spec):
                    self._repeat_row(node_id, data)
                if not self.editor.scope:
                    self._device_row([node_id])
                for param in spec.params if spec else ():
                    self._param_row(node_id, param, data["params"])
            self.summary = dpg.add_text("", wrap=300)
        self.refresh()

    def _label_row(self, node_id: str, label: str) -> None:
        with dpg.table_row():
            dpg.add_text("label")
            self.label_field = dpg.add_input_text(
                default_value=label,
                on_enter=True,
                width=-1,
                callback=self.app.guard(lambda s, a, u: self.editor.rename(u, a)),
                user_data=node_id,
            )
            self.app.add_text_input(self.label_field)

    def _repeat_row(self, node_id: str, data: dict) -> None:
        """The count of copies applied in sequence (empty: not repeated)."""
        with dpg.table_row():
            name = dpg.add_text("repeat")
            self.repeat_field = dpg.add_input_text(
                default_value=shown(data),
                on_enter=True,
                width=-1,
                hint="1",
                callback=self.app.guard(lambda s, a, u: self.editor.set_repeat_text(u, a)),
                user_data=node_id,
            )
            self.app.add_text_input(self.repeat_field)
            for target in (name, self.repeat_field):
                with dpg.tooltip(parent=target):
                    dpg.add_text(_REPEAT, wrap=360)

    def _device_row(self, node_ids: list[str]) -> None:
        """The placement tag of the shown nodes (several: all at once; mixed tags show empty)."""
        with dpg.table_row():
            name = dpg.add_text("device")
            self.device_field = dpg.add_input_text(
                default_value=self._common_tag(node_ids),
                on_enter=True,
                width=-1,
                hint="model's device",
                callback=self.app.guard(lambda s, a, u: self.editor.set_devices(u, a)),
                user_data=node_ids,
            )
            self.app.add_text_input(self.device_field)
            for target in (name, self.device_field):
                with dpg.tooltip(parent=target):
                    self.device_tips.append(dpg.add_text(self._device_help(), wrap=360))

    def _device_help(self) -> str:
        stages = self.editor.root.meta.get("stages") or []
        mapping = ", ".join(f"{k} → {d}" for k, d in enumerate(stages)) or "none declared"
        return _DEVICE.format(mapping)

    def _present(self, nodes: list[str]) -> list[str]:
        return [n for n in nodes if n in self.editor.design]

    def _common_tag(self, nodes: list[str]) -> str:
        tags = {tag_of(self.editor.design, n) for n in self._present(nodes)}
        return tags.pop() if len(tags) == 1 else ""

    def _param_row(self, node_id: str, param: Param, params: dict) -> None:
        with dpg.table_row():
            name = dpg.add_text(param.name)
            raw = params.get(param.name)
            if is_expr(raw):  # inside a block: set by the block's own parameters
                item = dpg.add_text(f"= {raw['expr']}", color=MUTED)
            else:
                kind = widget_kind(param) if self._valid(param, params) else "text"
                item = self._field(node_id, param, kind)
                self.fields[param.name] = (item, kind)
            for target in (name, item):
                with dpg.tooltip(parent=target):
                    dpg.add_text(_describe(param), wrap=360)

    @staticmethod
    def _valid(param: Param, params: dict) -> bool:
        if param.name not in params:
            return True
        try:
            param.coerce(params[param.name])
        except Exception:
            return False
        return True

    def _field(self, node_id: str, param: Param, kind: str) -> int:
        """One parameter's widget; its callback is a single editor command."""
        guard, editor, key = self.app.guard, self.editor, (node_id, param.name)
        set_value = guard(lambda s, a, u: editor.set_param(u[0], u[1], a))
        if kind in ("int", "float"):
            number = dpg.add_input_int if kind == "int" else dpg.add_input_float
            options = {"step": 1} if kind == "int" else {"format": "%.6g", "step": 0}
            item = number(on_enter=True, width=-1, callback=set_value, user_data=key, **options)
            self.app.add_text_input(item)
            return item
        if kind == "bool":
            return dpg.add_checkbox(callback=set_value, user_data=key)
        if kind == "combo":
            return dpg.add_combo(
                items=list(param.choices), width=-1, callback=set_value, user_data=key
            )
        item = dpg.add_input_text(
            on_enter=True,
            width=-1,
            hint="auto" if param.optional else param.describe(),
            callback=guard(lambda s, a, u: editor.set_param_text(u[0], u[1], a)),
            user_data=key,
        )
        self.app.add_text_input(item)
        return item

    def refresh(self) -> None:
        """Show the design's current values (after an edit, an undo or a refused value)."""
        node_id = self.node
        self._refresh_device()
        if node_id is None:
            return
        if node_id not in self.editor.design:
            self.show([])
            return
        data = self.editor.design.node(node_id)
        try:
            spec = self.editor.design.spec(data["type"])
        except UnknownBlockError:
            spec = None
        if spec is not None and self._show_values(spec, data["params"]):
            self.show([node_id])  # a value became (in)valid: its field changes kind
            return
        if self.label_field is not None and dpg.get_value(self.label_field) != data["label"]:
            dpg.set_value(self.label_field, data["label"])
        if self.repeat_field is not None and dpg.get_value(self.repeat_field) != shown(data):
            dpg.set_value(self.repeat_field, shown(data))
        self._summarise(node_id)

    def _refresh_device(self) -> None:
        if self.device_field is None or not dpg.does_item_exist(self.device_field):
            return
        tag = self._common_tag(self.nodes)
        if dpg.get_value(self.device_field) != tag:
            dpg.set_value(self.device_field, tag)
        help_text = self._device_help()
        for tip in self.device_tips:
            if dpg.get_value(tip) != help_text:
                dpg.set_value(tip, help_text)

    def _show_values(self, spec, params: dict) -> bool:
        """Put the values in their fields; True when a field needs another kind of widget."""
        values, errors = spec.resolve(params)
        bad = dict(errors)
        for name, (item, kind) in self.fields.items():
            if is_expr(params.get(name)):
                continue  # became an expression by undo or a definition edit: shown at rebuild
            param = spec.param_index[name]
            fallback = kind == "text" and widget_kind(param) != "text"
            if (name in bad and kind != "text") or (name not in bad and fallback):
                return True
            value = params[name] if name in bad else values[name]
            shown = value if kind != "text" else shown_text(param, value)
            if dpg.get_value(item) != shown:
                dpg.set_value(item, shown)
        return False

    def _summarise(self, node_id: str) -> None:
        info = self.editor.report.nodes.get(node_id)
        issues = self.editor.report.issues_for(node_id)
        if info is None:
            text = "shape unknown until the issues below are fixed"
        else:
            ins = ", ".join(format_shape(s) for s in info.in_specs if s is not None) or "-"
            outs = ", ".join(format_shape(s) for s in info.out_specs) or "-"
            text = f"in {ins}\nout {outs}\n{info.params:,} parameters"
            if info.repeat is not None:
                text += f" in {info.repeat} copies"
        text += "\n" + self._placement(node_id)
        if issues:
            text += "\n" + "\n".join(
                f"! {i.message}" + (f" ({i.hint})" if i.hint else "") for i in issues
            )
        dpg.set_value(self.summary, text)
        dpg.configure_item(self.summary, color=ERROR if issues else (-255, 0, 0, 255))

    def _placement(self, node_id: str) -> str:
        """Where the node runs: ``runs on stage 1 (cuda:1)``."""
        tag = tag_of(self.editor.design, node_id)
        if not tag:
            return "runs where the model is put"
        device = device_of(self.editor.root, tag)
        where = f"stage {tag}" if tag.isdigit() else tag
        return f"runs on {where}" + (f" ({device})" if device and device != tag else "")


def _describe(param: Param) -> str:
    default = to_text(param, param.default) or "unset"
    return f"{param.doc}\nallowed: {param.describe()}\ndefault: {default}"


_HELP = (
    "Drag a block from the palette onto the canvas, right-click the canvas for a menu, or press "
    "Space to add a block by name. Drag from an output pin (right) to an input pin (left) to wire;"
    " drop a wire on empty canvas to add a block on it. F fits the design, F1 lists the keys."
)
_REPEAT = (
    "Copies of this block applied one after another (transformer layers, a stage), built as "
    "nn.Sequential. Empty: once, as a plain node. Inside a block also an expression of its "
    "parameters, such as depth. Each copy's output must fit the next copy's input."
)
_DEVICE = (
    "Where this node runs: cpu, cuda, cuda:N, meta, mps, or a stage index whose device the "
    "design's stages give (here: {}). Empty: where the model is put. Model > Split over devices "
    "places every node at once. A block instance runs whole where it is placed."
)
_UNKNOWN = (
    "This design names a block type {!r} that this version of torch-designer does not know. "
    "Its wires and position are kept; replace it with a known block (or delete it) to run the "
    "model."
)
