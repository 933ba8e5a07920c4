"""The canvas's camera, placement and frame pacing as plain logic (no window)."""

from __future__ import annotations

import itertools

import pytest

from designer.gui.view import (
    OVERVIEW_BELOW,
    View,
    clamp_popup,
    extent,
    fit,
    fit_scaled,
    free_spot,
    inside,
    overlaps,
    wheel_zoom,
)

NODE = (180.0, 90.0)


def chain(n: int, step: float = 260.0) -> list:
    return [((40.0 + i * step, 40.0), NODE) for i in range(n)]


def test_view_maps_design_to_grid_and_back():
    view = View(0.5, (100.0, -20.0))
    assert view.grid((200.0, 40.0)) == (200.0, 0.0)
    assert view.design(view.grid((12.5, -7.0))) == (12.5, -7.0)
    zoomed = view.zoomed(1.0, (300.0, 300.0))
    assert zoomed.grid(view.design((300.0, 300.0))) == pytest.approx((300.0, 300.0))
    assert View(1.0).mode == "full" and View(0.6).mode == "compact" and View(0.2).mode == "overview"


def test_fit_shows_everything_up_to_100_percent():
    area = ((0.0, 0.0), (1000.0, 800.0))
    small = fit(chain(3), area)
    assert small.zoom == 1.0 and inside(extent(chain(3), small), area)
    long = fit(chain(300), area)  # a 300-node chain: one key shows all of it
    assert long.mode == "overview" and long.zoom < OVERVIEW_BELOW
    assert inside(extent(chain(300), long), area)
    mid = fit(chain(6), area)  # positions scale, nodes keep their size
    assert OVERVIEW_BELOW <= mid.zoom < 1.0 and inside(extent(chain(6), mid), area)
    assert fit([], area).zoom == 1.0
    minimap = ((0.0, 0.0), (200.0, 100.0))
    scaled = fit_scaled(chain(5), minimap, margin=4.0)  # the minimap: boxes scale too
    for pos, (w, h) in chain(5):
        box = (scaled.grid(pos), (w * scaled.zoom, h * scaled.zoom))
        assert inside(box, ((3.99, 0.0), (192.02, 100.0)))


def test_wheel_zoom_steps_clamps_and_snaps_to_100():
    assert wheel_zoom(1.0, 1) == 1.0  # never past 100%
    assert wheel_zoom(1.0, -1) == pytest.approx(1 / 1.2)
    assert wheel_zoom(1 / 1.2, 1) == 1.0
    assert wheel_zoom(0.001, -5) > 0


def test_free_spot_never_lands_on_a_node_and_prefers_the_screen():
    taken = [((0.0, 0.0), (200.0, 100.0)), ((220.0, 0.0), (200.0, 100.0))]
    spot = free_spot((10.0, 10.0), (150.0, 80.0), taken)
    assert not any(overlaps((spot, (150.0, 80.0)), t) for t in taken)
    screen = ((-50.0, -50.0), (600.0, 400.0))
    spot = free_spot((10.0, 10.0), (150.0, 80.0), taken, screen)
    assert inside((spot, (150.0, 80.0)), screen)
    assert free_spot((5000.0, 5000.0), NODE, taken, screen) != (5000.0, 5000.0)  # moved on screen
    crowd = [
        ((x * 100.0, y * 60.0), (90.0, 50.0)) for x, y in itertools.product(range(30), range(30))
    ]
    spot = free_spot((500.0, 500.0), NODE, crowd)
    assert not any(overlaps((spot, NODE), t) for t in crowd)


def test_popups_stay_on_screen():
    assert clamp_popup((1590.0, 990.0), (290.0, 270.0), (1600.0, 1000.0)) == (1302.0, 722.0)
    assert clamp_popup((100.0, 100.0), (290.0, 270.0), (1600.0, 1000.0)) == (100.0, 100.0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_waits_only_when_quiet_and_wakes_at_the_right_time():
    from designer.gui import pacing

    woken = []
    clock = Clock()
    pacer = pacing.Pacer(lambda: woken.append(clock.now), clock)
    pacer.touch()
    assert not pacer.may_wait(busy=False)  # just after input: frames keep coming
    clock.now += pacing.SETTLE + 0.01
    assert pacer.may_wait(busy=False)
    assert pacer.deadline == pytest.approx(clock.now + pacing.IDLE_PERIOD)
    assert pacer.may_wait(busy=True)
    assert pacer.deadline == pytest.approx(clock.now + pacing.BUSY_PERIOD)
    assert pacer.may_wait(busy=False, due=clock.now + 1.0)
    assert pacer.deadline == pytest.approx(clock.now + 1.0)  # a message expires then
    pacer.stop()
    assert pacing.Pacer(None, clock).may_wait(busy=False) is False  # no waker: never blocks


def test_key_batch_reads_modifiers_from_the_frame_events():
    pytest.importorskip("dearpygui")
    import dearpygui.dearpygui as dpg

    from designer.gui.keys import ACTIONS, KeyBatch, key_table

    batch = KeyBatch()
    batch.press(dpg.mvKey_LControl), batch.press(dpg.mvKey_Z), batch.release(dpg.mvKey_LControl)
    assert batch.take(False, False) == [(True, False, dpg.mvKey_Z)]
    batch.press(dpg.mvKey_Tab), batch.press(dpg.mvKey_LShift)  # key-code order: Tab first
    assert batch.take(False, False) == [(False, True, dpg.mvKey_Tab)]
    batch.press(dpg.mvKey_F)
    assert batch.take(False, True) == [(False, True, dpg.mvKey_F)]  # Shift held now
    assert ACTIONS[(True, False, dpg.mvKey_Z)] == "undo"
    assert ACTIONS[(False, True, dpg.mvKey_F)] == "fit_selection"
    assert ("F / Shift+F", "fit the whole design / the selection in the view") in key_table()


def test_the_overview_starts_where_nodes_would_overlap():
    from designer.gui.view import separating_zoom

    spread = chain(10, step=400.0)  # 180-wide nodes 400 apart: apart down to 0.45
    assert separating_zoom(spread) == 0.5  # the floor
    tight = chain(10, step=200.0)  # 180 wide, 200 apart: they touch below 0.9
    assert separating_zoom(tight) == pytest.approx(0.9)
    stacked = [((0.0, y * 100.0), NODE) for y in range(5)]  # 90 tall, 100 apart
    assert separating_zoom(stacked) == pytest.approx(0.9)
    view = fit(tight, ((0.0, 0.0), (1000.0, 800.0)), overview_below=separating_zoom(tight))
    assert view.mode == "overview"  # rather than compact nodes on top of each other
