"""Export: PNG at 2× (canvas and window, atomic), GIF frames from the race (count, size, palette,
cancel leaves nothing), the File-menu helper, and that the visible canvas is never touched."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from PIL import Image, ImageSequence

from engine.objectives import get_objective
from engine.optimizers import make_optimizer
from engine.run import Run
from engine.sweeps import Cancelled
from gui import export_png as export_png_module
from gui.export import (
    ExportActions,
    ExportError,
    FrameRenderer,
    GifExport,
    RacerPath,
    RaceSnapshot,
    export_png,
    frame_iterations,
    snapshot_from_race,
    write_gif,
)
from gui.gif_export import build_palette, qimage_to_pil, render_gif
from gui.jobs import JobRunner
from gui.surface import compute_surface

RACERS = (("gd", {"lr": 0.01}, "#ff5a5f"), ("newton", {}, "#ffffff"), ("rprop", {}, "#00e5ff"))


def make_snapshot(steps: int = 60, name: str = "himmelblau", start=(-0.5, 0.5)) -> RaceSnapshot:
    objective = get_objective(name)
    view = objective.domain
    surface = compute_surface(
        objective, view[0], view[1] if objective.dim == 2 else None, resolution=256
    )
    paths = []
    for i, (opt, params, color) in enumerate(RACERS):
        run = Run(objective, make_optimizer(opt, **params), start[: objective.dim], steps)
        points = np.array([run.first.x[0], *(r.x[0] for r in run)])
        paths.append(RacerPath(i + 1, color, opt, points))
    return RaceSnapshot(objective, view, surface, tuple(paths), tuple(start[: objective.dim]))


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def jobs():
    runner = JobRunner("test jobs")
    yield runner
    runner.shutdown()


# -- PNG -------------------------------------------------------------------------------------------


def test_canvas_png_is_twice_the_widget_size(window, tmp_path):
    canvas = window.canvas
    written = export_png(canvas, tmp_path / "canvas.png")
    assert written == tmp_path / "canvas.png"
    with Image.open(written) as im:
        assert im.format == "PNG"
        assert im.size == (2 * canvas.width(), 2 * canvas.height())
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 20  # a picture, not a blank fill
    assert leftovers(tmp_path) == ["canvas.png"]


def test_window_png_is_twice_the_window_size(window, tmp_path):
    written = export_png(window, tmp_path / "window.png", scale=2)
    with Image.open(written) as im:
        assert im.size == (2 * window.width(), 2 * window.height())


def test_png_scale_one_and_sharp_text_at_two(window, tmp_path):
    one = export_png(window.canvas, tmp_path / "one.png", scale=1)
    with Image.open(one) as im:
        assert im.size == (window.canvas.width(), window.canvas.height())


def test_png_export_restores_the_visible_canvas_pens(qtbot, window, tmp_path):
    canvas = window.canvas
    window.race.play()
    qtbot.waitUntil(lambda: len(canvas.head_dots.heads()) == len(canvas.trails), timeout=5000)
    window.race.pause()
    curves = [c.curve for c in canvas.contours] + [t.settled.curve for t in canvas.trails.values()]
    before = [(c.opts["pen"].widthF(), c.cacheMode()) for c in curves]
    export_png(canvas, tmp_path / "c.png")
    assert [(c.opts["pen"].widthF(), c.cacheMode()) for c in curves] == before
    samples = [t.line for t in canvas.trails.values()]  # legend entries' items (not in the scene)
    widths = [item.opts["pen"].widthF() for item in samples]
    with export_png_module.thicker_cosmetic_pens(canvas, 2):  # the batched tails and heads too
        assert canvas.tails.width_scale == 2 and canvas.head_dots.width_scale == 2
        assert [item.opts["pen"].widthF() for item in samples] == [2 * w for w in widths]
    assert canvas.tails.width_scale == 1 and canvas.head_dots.width_scale == 1
    assert [item.opts["pen"].widthF() for item in samples] == widths


def test_png_errors_are_clear_and_leave_no_file(window, tmp_path, monkeypatch):
    with pytest.raises(ExportError, match="does not exist"):
        export_png(window.canvas, tmp_path / "missing" / "x.png")
    with pytest.raises(ExportError, match="folder, not a file"):
        export_png(window.canvas, tmp_path)
    with pytest.raises(ValueError, match="scale"):
        export_png(window.canvas, tmp_path / "x.png", scale=0)
    # a failure while writing keeps the old file and leaves no temp file
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_png_module.os, "replace", full_disk)
    with pytest.raises(ExportError, match="No space left"):
        export_png(window.canvas, target)
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["keep.png"]


# -- frames ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "most", "count"), [(0, 120, 1), (5, 120, 6), (119, 120, 120), (5000, 120, 120)]
)
def test_frame_iterations_are_even_and_include_both_ends(last, most, count):
    ks = frame_iterations(last, most)
    assert len(ks) == count
    assert ks[0] == 0 and ks[-1] == last
    assert all(b > a for a, b in itertools.pairwise(ks))
    steps = np.diff(ks)
    if len(steps):
        assert steps.max() - steps.min() <= 1


def test_renderer_draws_paths_up_to_k_on_its_own_canvas(qtbot, window):
    visible = {rid: t.data()[0].copy() for rid, t in window.canvas.trails.items()}
    snapshot = make_snapshot(40)
    renderer = FrameRenderer(snapshot, (400, 300))
    try:
        assert renderer.canvas is not window.canvas
        image = renderer.render(10)
        assert (image.width(), image.height()) == (400, 300)
        for racer in snapshot.racers:
            xs, ys = renderer.canvas.trails[racer.racer_id].data()
            end = min(10, len(racer.positions) - 1)
            assert xs[-1] == pytest.approx(racer.positions[end, 0])
            assert ys[-1] == pytest.approx(racer.positions[end, 1])
        assert renderer.label.textItem.toPlainText() == "k = 10"
        big = renderer.render(snapshot.last, scale=2)
        assert (big.width(), big.height()) == (800, 600)
    finally:
        renderer.close()
    # the race on screen is untouched
    for rid, xs in visible.items():
        assert np.array_equal(window.canvas.trails[rid].data()[0], xs)


def test_renderer_handles_one_dimensional_scenes(qtbot):
    from engine.expressions import objective_from_expression

    objective = objective_from_expression("x^4 - 3*x^2 + x")
    surface = compute_surface(objective, objective.domain[0], None)
    run = Run(objective, make_optimizer("gd", lr=0.05), [2.0], 30)
    points = np.array([run.first.x[0], *(r.x[0] for r in run)])
    snapshot = RaceSnapshot(
        objective, objective.domain, surface, (RacerPath(1, "#ff5a5f", "gd", points),), (2.0,)
    )
    renderer = FrameRenderer(snapshot, (320, 240))
    try:
        image = qimage_to_pil(renderer.render(snapshot.last))
    finally:
        renderer.close()
    assert image.size == (320, 240)
    assert np.asarray(image).std() > 10


def test_snapshot_follows_the_rewind_cursor(qtbot, window):
    ids = [r.racer_id for r in window.racers_panel.racers if r.enabled]
    window.race.play()
    qtbot.waitUntil(lambda: max(window.race.histories[r].count for r in ids) >= 8, timeout=5000)
    window.race.pause()
    qtbot.waitUntil(lambda: not window.race.playing, timeout=2000)
    window.race.cursor = 4
    snap = snapshot_from_race(window.race)
    assert snap.last == 4
    assert snap.surface is window.canvas.surface
    assert {r.racer_id for r in snap.racers} == set(ids)
    for racer in snap.racers:
        history = window.race.histories[racer.racer_id]
        assert np.array_equal(racer.positions, history.positions(4))
        assert racer.positions.base is None or not np.shares_memory(
            racer.positions, history.positions()
        )


# -- GIF encoding ----------------------------------------------------------------------------------


def solid_frames(count: int, size=(64, 48)) -> list[Image.Image]:
    frames = []
    for i in range(count):
        a = np.zeros((size[1], size[0], 3), np.uint8)
        a[..., 1] = 80
        a[: 4 + i, : 4 + i] = (255, 90, 95)  # a growing red square
        frames.append(Image.fromarray(a, "RGB"))
    return frames


def test_write_gif_shares_one_palette_and_decodes_exactly(tmp_path):
    frames = solid_frames(12)
    palette = build_palette([frames[-1], frames[0]], ["#ff5a5f"])
    result = write_gif(frames, tmp_path / "s.gif", len(frames), palette, frame_ms=40)
    assert result.frames == 12 and result.size == (64, 48)
    with Image.open(tmp_path / "s.gif") as im:
        assert im.n_frames == 12
        assert im.info["loop"] == 0
        assert im.info["duration"] == 40
        for frame, original in zip(ImageSequence.Iterator(im), frames):
            assert np.array_equal(np.asarray(frame.convert("RGB")), np.asarray(original))
    assert leftovers(tmp_path) == ["s.gif"]


def test_write_gif_cancelled_midway_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.gif"
    target.write_bytes(b"old")
    frames = solid_frames(20)
    palette = build_palette([frames[-1]], [])
    seen = []
    with pytest.raises(Cancelled):
        write_gif(
            frames,
            target,
            len(frames),
            palette,
            progress=seen.append,
            cancelled=lambda: len(seen) >= 5,
        )
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["out.gif"]


def test_render_gif_headless_has_expected_frames_and_size(qtbot, tmp_path):
    snapshot = make_snapshot(50)
    renderer = FrameRenderer(snapshot, (320, 240))
    try:
        result = render_gif(renderer, tmp_path / "h.gif", max_frames=20)
    finally:
        renderer.close()
    with Image.open(tmp_path / "h.gif") as im:
        assert im.n_frames == 20 == result.frames
        assert im.size == (320, 240)


# -- GifExport (the GUI path) ----------------------------------------------------------------------


def test_gif_export_renders_incrementally_and_writes_the_file(qtbot, jobs, tmp_path):
    snapshot = make_snapshot(80)
    export = GifExport(jobs)
    progress: list[float] = []
    export.progress.connect(progress.append)
    path = tmp_path / "race.gif"
    with qtbot.waitSignal(export.finished, timeout=20000) as blocker:
        export.start(snapshot, path, size=(400, 300), max_frames=30)
        assert export.running
        assert progress == []  # start() draws nothing itself: frames come one per tick
    assert blocker.args == [str(path)]
    assert not export.running
    expected = len(frame_iterations(snapshot.last, 30))
    with Image.open(path) as im:
        assert im.n_frames == expected == 30
        assert im.size == (400, 300)
        assert im.info["loop"] == 0
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert last.std() > 10
    assert export.result is not None and export.result.frames == 30
    assert len(progress) >= 30 and progress == sorted(progress) and progress[-1] == 1.0
    assert leftovers(tmp_path) == ["race.gif"]


def test_gif_export_cancel_midway_leaves_no_file_nor_temp(qtbot, jobs, tmp_path):
    snapshot = make_snapshot(200)
    export = GifExport(jobs)
    progress: list[float] = []
    export.progress.connect(progress.append)
    finished: list[str] = []
    export.finished.connect(finished.append)
    export.start(snapshot, tmp_path / "race.gif", size=(400, 300), max_frames=120)
    qtbot.waitUntil(lambda: bool(progress) and progress[-1] > 0.15, timeout=10000)
    # the encoder is at work on its temp file next to the target
    qtbot.waitUntil(lambda: any(n.endswith(".tmp") for n in leftovers(tmp_path)), timeout=5000)
    with qtbot.waitSignal(export.cancelled, timeout=5000):
        export.cancel()
    qtbot.wait(50)
    assert finished == []
    assert not export.running
    assert leftovers(tmp_path) == []


def test_gif_export_cancel_while_the_job_waits_in_the_queue(qtbot, jobs, tmp_path):
    """The encoder job queued behind another job: cancel still ends cleanly, no file."""
    release = threading.Event()
    jobs.submit(lambda progress, cancelled: release.wait(10))
    export = GifExport(jobs)
    export.start(make_snapshot(30), tmp_path / "q.gif", size=(320, 240), max_frames=10)
    qtbot.waitUntil(lambda: export._renderer is None, timeout=10000)  # all frames drawn
    with qtbot.waitSignal(export.cancelled, timeout=5000):
        export.cancel()
        release.set()
    assert leftovers(tmp_path) == []


def test_gif_export_reports_bad_requests_as_failed(qtbot, jobs, tmp_path):
    export = GifExport(jobs)
    started: list[int] = []
    export.started.connect(started.append)
    with qtbot.waitSignal(export.failed, timeout=5000) as blocker:
        export.start(make_snapshot(10), tmp_path / "nope" / "x.gif")
    assert "does not exist" in blocker.args[0]
    assert not export.running
    for kwargs, fragment in (
        ({"max_frames": 0}, "max_frames"),
        ({"size": (10, 10)}, "frame size"),
        ({"frame_ms": 1}, "frame time"),
    ):
        with qtbot.waitSignal(export.failed, timeout=5000) as blocker:
            export.start(make_snapshot(10), tmp_path / "x.gif", **kwargs)
        assert fragment in blocker.args[0]
    assert started == []
    assert leftovers(tmp_path) == []


def test_gif_export_refuses_a_second_start(qtbot, jobs, tmp_path):
    export = GifExport(jobs)
    export.start(make_snapshot(30), tmp_path / "a.gif", size=(320, 240), max_frames=10)
    with pytest.raises(RuntimeError, match="already running"):
        export.start(make_snapshot(30), tmp_path / "b.gif")
    with qtbot.waitSignal(export.finished, timeout=10000):
        pass


# -- the File-menu helper --------------------------------------------------------------------------


def test_export_actions_png_and_gif(qtbot, window, jobs, tmp_path):
    actions = ExportActions(window, window.race, jobs)
    window.statusBar().addPermanentWidget(actions.progress_widget)
    assert actions.progress_widget.isHidden()
    messages: list[str] = []
    actions.message.connect(messages.append)
    asked: list[str] = []

    def ask(title, suggested, filters):
        asked.append(suggested)
        return str(tmp_path / ("shot" if "PNG" in title else "race"))  # no suffix given

    actions.ask_path = ask
    assert [(a.objectName(), a.text()) for a in actions.actions] == [
        ("export_png", "Export PNG…"),
        ("export_window_png", "Export window PNG…"),
        ("export_gif", "Export GIF…"),
    ]
    actions.png_action.trigger()
    assert (tmp_path / "shot.png").exists()
    assert asked[0].endswith("himmelblau.png")
    assert messages[-1].startswith("Saved shot.png")

    window.race.pause()
    with qtbot.waitSignal(actions.gif.finished, timeout=30000):
        assert actions.export_gif()
        assert actions.progress_widget.isVisible()
        assert not actions.gif_action.isEnabled()
    assert actions.gif_action.isEnabled()
    assert actions.progress_widget.isHidden()
    with Image.open(tmp_path / "race.gif") as im:
        assert im.size == (800, 600)
    assert "frames" in messages[-1]
