"""The DearPyGui node editor (``designer gui``): a thin view over
:class:`designer.edit.editor.Editor`.

Layers: :mod:`~designer.gui.idmap` (item ids <-> nodes, ports, wires; pure),
:mod:`~designer.gui.present` (what a node shows; pure), :mod:`~designer.gui.viewmodel` (keeps the
node editor in step with the design), and the view: :mod:`~designer.gui.app` (built by
:mod:`~designer.gui.layout`, input in :mod:`~designer.gui.gestures`, commands in
:mod:`~designer.gui.actions`) with its panels (:mod:`~designer.gui.palette`,
:mod:`~designer.gui.inspector`, :mod:`~designer.gui.issues`, :mod:`~designer.gui.dialogs`,
:mod:`~designer.gui.panels`, :mod:`~designer.gui.runpanel`, :mod:`~designer.gui.trainpanel`), which
see the window only through :class:`~designer.gui.host.Host`. Only this package imports dearpygui.
"""
