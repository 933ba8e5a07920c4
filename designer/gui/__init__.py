"""The DearPyGui node editor (``designer gui``): a thin view over
:class:`designer.edit.editor.Editor`.

Layers: :mod:`~designer.gui.idmap` (item ids <-> nodes, ports, wires; pure),
:mod:`~designer.gui.present` (what a node shows; pure), :mod:`~designer.gui.viewmodel` (keeps the
node editor in step with the design), and the view: :mod:`~designer.gui.app` with its panels
(:mod:`~designer.gui.palette`, :mod:`~designer.gui.inspector`, :mod:`~designer.gui.issues`,
:mod:`~designer.gui.dialogs`). Only this package imports dearpygui.
"""
