"""The cheap per-frame drawing paths: the batched tails and heads, peak-decimated loss tails,
finished runs settled whole, label texts paced while racing, the legend's show/hide click."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run
from gui.history import SETTLE_BLOCK, RacerHistory
from gui.loss_plot import peak_decimate
from gui.overlays.base import TEXT_PERIOD_S, Label, TextPace
from gui.polyline_batch import PolylineBatch, finite_runs
from gui.theme import NORMAL

RED, BLUE = (255, 0, 0), (0, 0, 255)


# -- PolylineBatch ---------------------------------------------------------------------------------
def test_finite_runs_break_the_line_at_nan_and_inf():
    xs = np.array([0.0, 1, 2, np.nan, 4, 5, np.inf, 7])
    ys = np.arange(8.0)
    runs = [[(p.x(), p.y()) for p in poly] for poly in finite_runs(xs, ys)]
    assert runs == [[(0, 0), (1, 1), (2, 2)], [(4, 4), (5, 5)], [(7, 7)]]
    assert finite_runs(np.empty(0), np.empty(0)) == []


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget(background="k")
    qtbot.addWidget(widget)
    widget.resize(200, 200)
    widget.plotItem.hideAxis("left")
    widget.plotItem.hideAxis("bottom")
    widget.show()
    qtbot.waitExposed(widget)
    widget.plotItem.getViewBox().setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    return widget


def rgb(image: QImage) -> np.ndarray:
    """(height, width, 3) uint8 pixels, copied while the image is alive."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(image.constBits(), np.uint8)
    rows = arr.reshape(image.height(), image.bytesPerLine())[:, : 3 * image.width()]
    return rows.reshape(image.height(), image.width(), 3).copy()


def pixels(widget) -> np.ndarray:
    return rgb(widget.grab().toImage())


def count(px: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.all(np.abs(px.astype(int) - rgb) < 40, axis=2).sum())


def at(widget, x: float, y: float) -> tuple[int, int]:
    scene = widget.plotItem.getViewBox().mapViewToScene(QPointF(x, y))
    p = widget.mapFromScene(scene)
    return p.y(), p.x()


def line_and_head(plot) -> PolylineBatch:
    """A red 3 px line at y = 2 and a blue 12 px head at (5, 7) in a 0–10 plot."""
    batch = PolylineBatch()
    plot.addItem(batch, ignoreBounds=True)
    batch.set_style("a", "#ff0000", 3.0)
    batch.set_line("a", np.array([1.0, 9.0]), np.array([2.0, 2.0]))
    batch.set_heads([5.0], [7.0], ["#0000ff"], size=12.0)
    return batch


def test_batch_paints_lines_and_heads_and_hides_lines(plot):
    batch = line_and_head(plot)
    px = pixels(plot)
    assert count(px, RED) > 3 * 150  # a 3 px line across most of the 200 px plot
    ys, xs = np.nonzero(np.all(np.abs(px.astype(int) - BLUE) < 40, axis=2))
    assert 50 < len(ys) < 120  # the head's fill: a disc of 10 px (12 px less the ring)
    row, col = at(plot, 5.0, 7.0)
    assert abs(ys.mean() - row) < 1.5 and abs(xs.mean() - col) < 1.5  # at its point
    assert max(px[round(ys.mean()), round(xs.mean()) + 6]) < 40  # its black ring, 6 px out
    batch.set_line_visible("a", False)
    assert count(pixels(plot), RED) == 0
    assert batch.line_data("a")[0].tolist() == [1.0, 9.0]  # hidden, not forgotten


def test_batch_bounding_rect_covers_the_points_and_the_pen(plot):
    batch = PolylineBatch()
    plot.addItem(batch, ignoreBounds=True)
    assert batch.boundingRect().isEmpty()
    batch.set_style(1, "#ff0000", 4.0, outline="#000000", outline_width=8.0)
    batch.set_line(1, np.array([2.0, 3.0]), np.array([4.0, 6.0]))
    rect = batch.boundingRect()
    px = batch.pixelWidth()  # data units per pixel
    # the 8 px outline reaches 4 px beyond the points: the rect pads that, and not much more
    for pad in (2 - rect.left(), rect.right() - 3, 4 - rect.top(), rect.bottom() - 6):
        assert 4 * px <= pad <= 8 * px


def test_batch_width_scale_thickens_the_pens(plot):
    batch = PolylineBatch()
    plot.addItem(batch, ignoreBounds=True)
    batch.set_style("a", "#ff0000", 2.0)
    batch.set_line("a", np.array([1.0, 9.0]), np.array([5.0, 5.0]))
    thin = count(pixels(plot), RED)
    batch.set_width_scale(3.0)
    thick = count(pixels(plot), RED)
    assert 2.2 * thin < thick < 4 * thin


def test_batch_without_antialiasing_draws_segments_like_the_polyline(plot):
    batch = PolylineBatch(antialias=False)
    plot.addItem(batch, ignoreBounds=True)
    batch.set_style("a", "#ff0000", 3.0)
    xs = np.linspace(1, 9, 50)
    batch.set_line("a", xs, 5 + np.sin(xs))
    assert batch._lines["a"].segments is not None
    segments = count(pixels(plot), RED)
    batch._lines["a"].segments = None  # the polyline path
    batch.update()
    assert abs(count(pixels(plot), RED) - segments) < 0.1 * segments


def test_a_2x_export_draws_lines_and_heads_twice_as_wide(plot):
    from gui.export_png import render_widget

    batch = line_and_head(plot)

    def extents(scale: float) -> tuple[int, int]:
        px = rgb(render_widget(plot, scale))
        blue = np.all(np.abs(px.astype(int) - BLUE) < 40, axis=2)
        red_rows = np.any(np.all(np.abs(px.astype(int) - RED) < 40, axis=2), axis=1)
        return int(np.any(blue, axis=0).sum()), int(red_rows.sum())

    (head_1, line_1), (head_2, line_2) = extents(1), extents(2)
    assert 1.8 * head_1 <= head_2 <= 2.2 * head_1  # the head's fill, across
    assert 1.6 * line_1 <= line_2 <= 2.4 * line_1  # the line's width
    assert batch.width_scale == 1


# -- loss tails ------------------------------------------------------------------------------------
def test_peak_decimate_keeps_every_columns_extremes_and_the_ends():
    rng = np.random.default_rng(0)
    ks = np.arange(300, 557, dtype=float)
    ys = np.exp(-ks / 100) + 0.01 * rng.standard_normal(len(ks))
    dk, dy = peak_decimate(ks, ys, per_px=9.7)
    assert len(dk) < len(ks) / 3
    assert (dk[0], dy[0]) == (ks[0], ys[0]) and (dk[-1], dy[-1]) == (ks[-1], ys[-1])
    assert np.all(np.diff(dk) >= 0)
    # every pixel column (9 iterations) shows the same lowest and highest loss as all points
    for lo in range(301, 301 + 9 * 27, 9):
        inside = (ks >= lo) & (ks < lo + 9)
        shown = (dk >= lo) & (dk < lo + 9)
        assert dy[shown].min() == ys[inside].min() and dy[shown].max() == ys[inside].max()
    assert peak_decimate(ks, ys, per_px=1.5)[0] is ks  # about a point per pixel: all of them
    ys[100] = np.nan
    assert peak_decimate(ks, ys, per_px=9.7)[1] is ys  # gaps are drawn as they are


# -- settled parts ---------------------------------------------------------------------------------
def history_of(max_steps: int, lr: float = 0.01) -> tuple[RacerHistory, list]:
    run = Run(get_objective("himmelblau"), make_optimizer("gd", lr=lr), (0.5, 0.5), max_steps)
    records = [run.first, *run]
    history = RacerHistory(2)
    history.extend(tuple(records))
    return history, records


def test_a_finished_run_is_settled_whole_a_running_one_by_blocks():
    history, records = history_of(max_steps=700, lr=1e-4)
    assert records[-1].status_name() == "max_steps" and history.finished()
    assert history.settled_until() == 700  # nothing of it changes any more
    assert history.settled_until(upto=600) == 512  # rewound into it: by blocks
    running, recs = history_of(max_steps=10_000, lr=1e-4)
    running.truncate(650)
    running.extend((replace(recs[651], status=np.zeros(1, np.int8)),))
    assert not running.finished() and running.settled_until() == 2 * SETTLE_BLOCK


def test_heads_are_drawn_above_the_overlays_arrows_and_event_markers(window):
    from gui.overlays import style

    canvas = window.canvas
    assert canvas.head_dots.zValue() > max(style.Z_ARROW, style.Z_EVENTS)
    assert canvas.tails.zValue() < canvas.head_dots.zValue() < style.Z_MARKER


def test_a_short_finished_run_keeps_its_dots_and_has_no_live_tail(window):
    history, records = history_of(max_steps=2000)  # gd lr=0.01 converges in a few dozen steps
    assert records[-1].status_name() == "converged" and len(records) < SETTLE_BLOCK
    rid = window.racers_panel.racers[0].racer_id
    window.race.pause()
    window.race.histories = {rid: history}
    window.race._dirty = True
    window.race.draw_frame()
    trail = window.canvas.trails[rid]
    assert trail._symbols  # a dot on every iterate, drawn once in the settled part
    assert len(window.canvas.tails.line_data(rid)[0]) == 1  # the live tail: the last point
    xs, ys = trail.data()  # the whole path (thinned to screen pixels), start to end
    assert (xs[0], ys[0]) == tuple(records[0].x[0]) and (xs[-1], ys[-1]) == tuple(records[-1].x[0])


# -- label texts while racing ------------------------------------------------------------------
FRAME_S = 1 / 64  # a 64 Hz frame clock: exact in binary, so the period boundaries are too


def fake_pace() -> tuple[TextPace, list[float]]:
    clock = [0.0]
    return TextPace(clock=lambda: clock[0]), clock


def test_text_pace_spreads_changes_and_is_exact_when_not_racing():
    pace, clock = fake_pace()
    pace.advance(live=False, demand=24)
    assert all(pace.may_change(pace.now) for _ in range(5))  # paused: always
    last = dict.fromkeys(range(24), -math.inf)
    changes: list[int] = []
    for _ in range(64):
        clock[0] += FRAME_S
        pace.advance(live=True, demand=24)
        now = [k for k in last if pace.may_change(last[k])]
        for k in now:
            last[k] = pace.now
        changes.append(len(now))
    # 24 labels, each at most every 0.1 s: about 4 per frame, not 24 on every 7th frame
    assert max(changes) <= 24 * FRAME_S / TEXT_PERIOD_S + 1
    every = math.ceil(TEXT_PERIOD_S / FRAME_S)  # frames between two changes of one label
    assert sum(changes[-32:]) >= 24 * 32 / every - 6  # and each about 10 times a second
    clock[0] += 0.5  # a slow race (a step every half second): every text at once
    pace.advance(live=True, demand=24)
    assert all(pace.may_change(last[k]) for k in last)
    pace.exact_next_frame()  # a new race: its first frame is exact
    clock[0] += FRAME_S
    pace.advance(live=True, demand=24)
    assert not pace.live and pace.may_change(pace.now)


def test_a_held_label_text_follows_with_its_newest_value(qtbot):
    pace, clock = fake_pace()
    label = Label(NORMAL, pace=pace)

    def frame(live: bool = True, seconds: float = FRAME_S) -> None:
        clock[0] += seconds
        pace.advance(live=live, demand=1)

    frame()
    label.set("λ₁ = 1.00", (0.0, 0.0))
    assert label.text == "λ₁ = 1.00"  # a new label shows its text at once
    frame()
    label.set("λ₁ = 1.01", (0.1, 0.0))
    assert label.text == "λ₁ = 1.00" and label.want == (0.1, 0.0)  # the text waits, not the spot
    for _ in range(5):
        frame()
        label.catch_up()
    assert label.text == "λ₁ = 1.00"  # 6/64 s since it changed
    frame()
    label.set("λ₁ = 1.02", (0.2, 0.0))
    assert label.text == "λ₁ = 1.02"  # its turn: the newest value, not the one held back
    frame()
    label.set("λ₁ = 1.03", (0.3, 0.0))
    frame()
    label.catch_up()  # not drawn again (its racer stopped): the held text follows on its turn
    assert label.text == "λ₁ = 1.02"
    for _ in range(6):
        frame()
        label.catch_up()
    assert label.text == "λ₁ = 1.03"
    label.set("λ₁ = 1.04", (0.4, 0.0))
    frame(seconds=0.5)  # slow frames: at once
    label.set("λ₁ = 1.05", (0.4, 0.0))
    assert label.text == "λ₁ = 1.05"
    label.set("λ₁ = 1.06", (0.5, 0.0))
    frame(live=False)  # the race paused: exact at once
    label.catch_up()
    assert label.text == "λ₁ = 1.06"


def test_overlay_numbers_follow_a_slow_race_step_by_step(qtbot, window):
    """At a few steps a second, a frame drawn a pace period or more after the last one shows
    its own numbers (a 10 Hz pace counted in frames would lag seconds behind at 2 steps/s)."""
    window.overlays.set_enabled("hessian", True)
    window.transport.set_speed(4)
    rid = next(r.racer_id for r in window.racers_panel.racers if r.enabled)
    frames: list[tuple[list[float], list[float]]] = []
    last = [-math.inf]

    def drawn() -> None:  # connected after the overlay manager: runs after its redraw
        grp = window.overlays.overlays["hessian"].groups.get(rid)
        record = window.race.shown_record(rid)
        now = time.perf_counter()
        previous, last[0] = last[0], now
        if grp is None or record is None or not all(v.visible for v in grp.values):
            return
        if now - previous < TEXT_PERIOD_S:  # two steps in quick succession: may be paced
            return
        shown = [float(v.text.split("= ")[1].replace("−", "-")) for v in grp.values]
        frames.append((shown, sorted(np.linalg.eigvalsh(record.hess[0]))))

    window.race.frameDrawn.connect(drawn)
    window.race.start_at((0.5, 0.5))
    qtbot.waitUntil(lambda: len(frames) >= 5, timeout=10_000)
    window.race.frameDrawn.disconnect(drawn)
    window.race.pause()
    for shown, exact in frames:
        assert shown == pytest.approx(exact, rel=5e-3, abs=1e-6)


def test_turning_a_label_about_its_point_moves_the_whole_box(qtbot):
    label = Label(NORMAL, anchor=(0.0, 0.5))
    label.set("−∇E", (0.0, 0.0))
    w, h = label.size
    before = label.item.mapToScene(label.item.rect()).boundingRect()
    label.set("−∇E", (0.0, 0.0), anchor=(1.0, 0.5))
    after = label.item.mapToScene(label.item.rect()).boundingRect()
    assert after.left() == pytest.approx(before.left() - w)
    assert after.top() == pytest.approx(before.top()) and after.height() == pytest.approx(h)


# -- the legend ------------------------------------------------------------------------------------
def test_clicking_a_legend_sample_hides_that_path_and_starts_nothing(qtbot, window):
    window.race.start_at((0.5, 0.5))
    ids = [r.racer_id for r in window.racers_panel.racers if r.enabled]
    qtbot.waitUntil(lambda: all(window.race.histories[r].count > 3 for r in ids), timeout=5000)
    window.race.pause()
    qtbot.waitUntil(lambda: not window.race.playing, timeout=2000)
    canvas = window.canvas
    sample = canvas.legend.items[0][0]
    rid = next(r for r, t in canvas.trails.items() if t.line is sample.item)
    heads = len(canvas.head_dots.heads())
    where = canvas.mapFromScene(sample.mapToScene(sample.boundingRect().center()))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)
    trail = canvas.trails[rid]
    assert not trail.visible and not trail.settled.isVisible()
    assert len(canvas.head_dots.heads()) == heads - 1
    assert window.race.start == (0.5, 0.5)  # the click did not start a race there
    assert window.overlays.build_frame() is not None
    assert rid not in {r.racer_id for r in window.overlays.build_frame().racers}  # nor overlays
    loss = window.loss_plot.curves[rid]
    assert not loss.shown and not loss.settled.isVisible()  # nor its loss curve
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert trail.visible and len(canvas.head_dots.heads()) == heads
    assert loss.shown and loss.settled.isVisible()
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)  # hide again
    window.racers_panel.set_color(rid, "#123456")  # a recoloured racer: a new trail
    trail = canvas.trails[rid]
    assert not trail.visible and not trail.line.isVisible()  # still hidden, legend says so
    assert not window.loss_plot.curves[rid].shown


def test_a_hidden_racer_no_longer_sets_the_loss_plots_axes(qtbot, window):
    plot = window.loss_plot
    plot.set_racers({1: ("#ff0000", "calm"), 2: ("#00ff00", "diverging")})
    k = np.arange(300)
    plot.set_losses(1, 10.0 / (1 + k), (256, 0))
    plot.set_losses(2, 10.0 ** (k / 20), (256, 0))  # up to 1e15
    _, (lo, hi) = plot.plot.getViewBox().viewRange()
    assert hi > 14  # log10: the diverging racer's 1e15 sets the top
    plot.show_racer(2, False)
    _, (lo, hi) = plot.plot.getViewBox().viewRange()
    assert hi < 2 and lo < -1  # the calm racer's 10 ... 0.03 fills the plot
    plot.show_racer(2, True)
    assert plot.plot.getViewBox().viewRange()[1][1] > 14


def test_regime_box_follows_a_slow_race_step_by_step(qtbot, window):
    """Frames a pace period or more apart: the box shows each frame's own numbers (its page is
    not held back to the next frame, which in a slow race is the next step)."""
    from gui.overlays.base import fmt

    window.overlays.set_enabled("regime", True)
    window.transport.set_speed(4)
    regime = window.overlays.overlays["regime"]
    rid = next(r.racer_id for r in window.racers_panel.racers if r.enabled)
    checked: list[bool] = []
    last = [-math.inf]

    def drawn() -> None:
        record = window.race.shown_record(rid)
        now = time.perf_counter()
        previous, last[0] = last[0], now
        if record is None or record.hess is None or now - previous < TEXT_PERIOD_S:
            return
        lam = sorted(np.linalg.eigvalsh(record.hess[0]))
        checked.append(f"λ = {fmt(lam[0])}, {fmt(lam[1])}" in regime.text())

    window.race.frameDrawn.connect(drawn)
    window.race.start_at((0.5, 0.5))
    qtbot.waitUntil(lambda: len(checked) >= 5, timeout=10_000)
    window.race.frameDrawn.disconnect(drawn)
    window.race.pause()
    assert all(checked), checked


# -- surface switch --------------------------------------------------------------------------------
def test_a_surface_switch_holds_the_old_picture_until_the_new_surface(qtbot, window):
    from engine.scenario import ObjectiveSpec
    from gui.canvas import HOLD_PAINT_MS

    canvas = window.canvas
    window.scenes.request_objective(ObjectiveSpec("builtin", "rosenbrock"))
    target = window.race.surface_generation
    assert not canvas.viewport().updatesEnabled()  # new axes over the old heatmap: not shown
    qtbot.waitUntil(lambda: canvas.surface.generation == target, timeout=5000)
    assert canvas.viewport().updatesEnabled()
    # no surface coming (a failed computation): painting resumes after HOLD_PAINT_MS anyway
    canvas.set_objective(get_objective("booth"), ((-10, 10), (-10, 10)))
    assert not canvas.viewport().updatesEnabled()
    qtbot.wait(HOLD_PAINT_MS + 100)
    assert canvas.viewport().updatesEnabled()
