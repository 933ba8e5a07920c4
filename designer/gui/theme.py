"""Fonts, colours and the few themes the canvas binds (per category, issue, highlight)."""

from __future__ import annotations

from pathlib import Path

import dearpygui.dearpygui as dpg

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/segoeui.ttf",
)
FONT_SIZE = 15

CATEGORY_COLOURS = {  # title bar colours: blocks of one family look alike on the canvas
    "Input/Output": (46, 125, 50),
    "Convolution": (30, 90, 160),
    "Pooling": (0, 121, 128),
    "Normalization": (106, 60, 150),
    "Activation": (180, 95, 20),
    "Dense": (60, 90, 120),
    "Resize": (0, 105, 92),
    "Merge": (150, 120, 0),
    "Utility": (90, 90, 90),
}
COMPOSITE_COLOUR = (140, 50, 120)  # library and design blocks made of blocks
ERROR = (200, 40, 40)
WARNING = (190, 140, 20)
HIGHLIGHT = (255, 200, 60)
MUTED = (150, 150, 160)
LINK = (61, 133, 224, 200)  # imnodes' own link colour
DEVICE_COLOURS = (  # one per placement tag, in the legend's order; none near red, amber or gold
    (0, 137, 123),
    (123, 31, 162),
    (25, 118, 210),
    (85, 139, 47),
    (173, 20, 87),
    (69, 90, 100),
    (0, 151, 167),
    (94, 53, 177),
)
UNTAGGED = (78, 78, 84)  # parts of a placed design that run wherever the model is put
CUT = (255, 64, 200)  # wires whose tensor moves between devices (imnodes has one thickness)


def load_font() -> int | None:
    """A TrueType font with the symbols the editor uses (× ≤ → …), when one is installed."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            with dpg.font_registry():  # glyph ranges are picked automatically (DPG >= 2.1)
                font = dpg.add_font(candidate, FONT_SIZE)
            dpg.bind_font(font)
            return font
    return None


MONO_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/TTF/DejaVuSansMono.ttf",
    "/System/Library/Fonts/Menlo.ttc",
    "C:/Windows/Fonts/consola.ttf",
)


def load_mono_font() -> int | None:
    """A monospace font for the code tab, when one is installed (else the default font)."""
    for candidate in MONO_CANDIDATES:
        if Path(candidate).is_file():
            with dpg.font_registry():
                return dpg.add_font(candidate, FONT_SIZE)
    return None


def device_colour(index: int) -> tuple[int, int, int]:
    """The colour of the ``index``-th placement tag of a design (the legend's order)."""
    return DEVICE_COLOURS[index % len(DEVICE_COLOURS)]


def tinted(colour: tuple, amount: float = 0.3) -> tuple[int, int, int]:
    """A node body's background: the default dark grey with a little of ``colour``."""
    base = (50, 50, 50)
    return tuple(round(b + (c - b) * amount) for b, c in zip(base, colour[:3], strict=True))


def _node_theme(
    title: tuple[int, int, int], outline: tuple | None = None, background: tuple | None = None
) -> int:
    lighter = tuple(min(255, c + 30) for c in title)
    with dpg.theme() as theme, dpg.theme_component(dpg.mvNode):
        if background is not None:
            for part in (
                dpg.mvNodeCol_NodeBackground,
                dpg.mvNodeCol_NodeBackgroundHovered,
                dpg.mvNodeCol_NodeBackgroundSelected,
            ):
                dpg.add_theme_color(part, background, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_TitleBar, title, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_TitleBarHovered, lighter, category=dpg.mvThemeCat_Nodes)
        dpg.add_theme_color(dpg.mvNodeCol_TitleBarSelected, lighter, category=dpg.mvThemeCat_Nodes)
        if outline is not None:
            dpg.add_theme_color(dpg.mvNodeCol_NodeOutline, outline, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_style(
                dpg.mvNodeStyleVar_NodeBorderThickness, 3, category=dpg.mvThemeCat_Nodes
            )
    return theme


def _text_theme(rgb: tuple) -> int:
    with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
        dpg.add_theme_color(dpg.mvThemeCol_Text, rgb)
    return theme


class Themes:
    """Themes made once per context and shared by every item that needs them."""

    def __init__(self) -> None:
        self._nodes: dict[tuple, int] = {}
        with dpg.theme() as self.error_link, dpg.theme_component(dpg.mvNodeLink):
            dpg.add_theme_color(dpg.mvNodeCol_Link, ERROR, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_LinkHovered, ERROR, category=dpg.mvThemeCat_Nodes)
        with dpg.theme() as self.link, dpg.theme_component(dpg.mvNodeLink):
            dpg.add_theme_color(dpg.mvNodeCol_Link, LINK, category=dpg.mvThemeCat_Nodes)
        with dpg.theme() as self.cut_link, dpg.theme_component(dpg.mvNodeLink):
            dpg.add_theme_color(dpg.mvNodeCol_Link, CUT, category=dpg.mvThemeCat_Nodes)
            dpg.add_theme_color(dpg.mvNodeCol_LinkHovered, CUT, category=dpg.mvThemeCat_Nodes)
        self.error_text = _text_theme(tuple(min(255, c + 60) for c in ERROR))
        self.warning_text = _text_theme(tuple(min(255, c + 40) for c in WARNING))
        with dpg.theme() as self.editor, dpg.theme_component(dpg.mvNodeEditor):
            dpg.add_theme_style(
                dpg.mvNodeStyleVar_LinkThickness, 2.5, category=dpg.mvThemeCat_Nodes
            )
            dpg.add_theme_style(
                dpg.mvNodeStyleVar_PinCircleRadius, 4.5, category=dpg.mvThemeCat_Nodes
            )

    def for_node(
        self,
        category: str,
        composite: bool,
        severity: str,
        highlighted: bool,
        expanded: bool = False,
        device: tuple[int, int, int] | None = None,
    ) -> int:
        """A node's theme: its title shows issues, else its device's colour (a placed design),
        else its block family's; its body is tinted with its device's colour, so that an error
        never hides the device nor the device an error. Its outline shows the selection (gold),
        else an error (red), else membership of an expanded block."""
        title = title_colour(category, composite, severity, device)
        if highlighted:
            outline = HIGHLIGHT
        elif severity == "error":
            outline = ERROR
        elif expanded:
            outline = COMPOSITE_COLOUR
        else:
            outline = None
        background = tinted(device) if device is not None else None
        key = (title, outline, background)
        if key not in self._nodes:
            self._nodes[key] = _node_theme(title, outline, background)
        return self._nodes[key]


def title_colour(
    category: str, composite: bool, severity: str, device: tuple | None = None
) -> tuple[int, int, int]:
    """The colour of a node's title bar (and of its box in the overview): an issue's, else its
    device's in a placed design, else its block family's."""
    if severity == "error":
        return ERROR
    if severity == "warning":
        return WARNING
    if device is not None:
        return tuple(device[:3])
    if composite:
        return COMPOSITE_COLOUR
    return CATEGORY_COLOURS.get(category, CATEGORY_COLOURS["Utility"])
