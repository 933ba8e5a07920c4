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


def _node_theme(title: tuple[int, int, int], outline: tuple | None = None) -> int:
    lighter = tuple(min(255, c + 30) for c in title)
    with dpg.theme() as theme, dpg.theme_component(dpg.mvNode):
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
    ) -> int:
        """A node's theme: its title shows issues, else its block family's colour; its outline
        shows the selection (gold), else an error (red), else membership of an expanded block."""
        title = title_colour(category, composite, severity)
        if highlighted:
            outline = HIGHLIGHT
        elif severity == "error":
            outline = ERROR
        elif expanded:
            outline = COMPOSITE_COLOUR
        else:
            outline = None
        key = (title, outline)
        if key not in self._nodes:
            self._nodes[key] = _node_theme(title, outline)
        return self._nodes[key]


def title_colour(category: str, composite: bool, severity: str) -> tuple[int, int, int]:
    """The colour of a node's title bar (and of its box in the overview)."""
    if severity == "error":
        return ERROR
    if severity == "warning":
        return WARNING
    if composite:
        return COMPOSITE_COLOUR
    return CATEGORY_COLOURS.get(category, CATEGORY_COLOURS["Utility"])
