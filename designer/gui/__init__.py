"""The DearPyGui node editor (``designer gui``): a thin view over
:class:`designer.edit.editor.Editor`.

Layers: :mod:`~designer.gui.idmap` (item ids <-> nodes, ports, wires), :mod:`~designer.gui.present`
(what a node shows), :mod:`~designer.gui.view` (zoom, fitting, where new nodes land) and
:mod:`~designer.gui.pacing` (when frames are drawn) are plain logic;
:mod:`~designer.gui.viewmodel` keeps the node editor in step with the design
(:mod:`~designer.gui.nodeitems` draws one node), :mod:`~designer.gui.camera` picks the view and
shows the :mod:`~designer.gui.overview` when zoomed far out and the :mod:`~designer.gui.minimap`.
The window, :mod:`~designer.gui.app`, is built by :mod:`~designer.gui.layout` and
:mod:`~designer.gui.menus`, takes input in :mod:`~designer.gui.gestures` (keys from
:mod:`~designer.gui.keys`) and acts in :mod:`~designer.gui.actions`,
:mod:`~designer.gui.fileactions` and :mod:`~designer.gui.viewactions`. Its panels
(:mod:`~designer.gui.palette`, :mod:`~designer.gui.inspector`, :mod:`~designer.gui.issues`,
:mod:`~designer.gui.status`, :mod:`~designer.gui.dialogs`, :mod:`~designer.gui.find`,
:mod:`~designer.gui.helpwindow`, :mod:`~designer.gui.panels`, :mod:`~designer.gui.exportdialog`,
:mod:`~designer.gui.placedialog`, :mod:`~designer.gui.runpanel`, :mod:`~designer.gui.trainpanel`)
see the window only through :class:`~designer.gui.host.Host`. Only this package imports dearpygui.
"""
