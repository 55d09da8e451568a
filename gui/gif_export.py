"""Animated GIF of a race, from its start to the shown step.

Frames are drawn on the GUI thread by a FrameRenderer, one per event-loop tick (the window never
freezes); the Pillow work (one shared palette, quantizing, writing) runs in the JobRunner and
starts as soon as the palette's sample frames exist, so it overlaps the rendering.

Why one shared palette: quantizing every frame on its own is several times slower and gives
larger files (every frame a new palette, so no frame-to-frame delta). Here the palette comes from
a few sample frames (FASTOCTREE, which keeps the racers' saturated colours better than
MEDIANCUT) plus the racers' exact colours, and every frame is mapped onto it without dithering:
the unchanging background gets identical indices in every frame. Each frame after the first is
stored as the rectangle that changed (Pillow), with its unchanged pixels transparent (here):
long runs of one index that LZW compresses to almost nothing.

Writing is atomic (a temp file next to the target, then os.replace); a cancelled or failed
export leaves neither a partial file nor the temp file, and an existing file is untouched.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from engine.sweeps import Cancelled
from gui.export_png import check_writable, temp_beside
from gui.frame_renderer import (
    BACKGROUND,
    DEFAULT_MAX_FRAMES,
    DEFAULT_SIZE,
    FrameRenderer,
    RaceSnapshot,
    frame_iterations,
)
from gui.jobs import JobRunner

FRAME_MS = 50  # 20 frames per second
HOLD_MS = 1500  # the last frame stays a moment before the loop starts again
PALETTE_COLORS = 255  # index 255 is kept free: "unchanged since the previous frame"
TRANSPARENT = 255
FIXED_COLORS = ("#000000", "#ffffff", BACKGROUND, "#f0f0f0")
RENDER_SHARE = 0.85  # of the progress bar: rendering dominates, encoding overlaps it

Progress = Callable[[float], None]
IsCancelled = Callable[[], bool]


@dataclass(frozen=True)
class GifResult:
    path: str
    frames: int
    size: tuple[int, int]
    bytes: int


# -- Pillow side (any thread) ----------------------------------------------------------------------


def qimage_to_pil(image: QImage) -> Image.Image:
    """A copy of an RGB32 QImage as a Pillow RGB image."""
    if image.format() not in (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32):
        image = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    data = bytes(image.constBits())[: image.bytesPerLine() * h]
    return Image.frombytes("RGB", (w, h), data, "raw", "BGRX", image.bytesPerLine(), 1)


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def build_palette(samples: Sequence[Image.Image], exact_colors: Iterable[str] = ()) -> Image.Image:
    """One palette ("P" image) for every frame: FASTOCTREE on the samples stacked, plus the
    given colours exactly (racer colours, black outlines, white markers, the background)."""
    if not samples:
        raise ValueError("build_palette needs at least one sample frame")
    exact = []
    for c in (*FIXED_COLORS, *exact_colors):
        rgb = _rgb(c)
        if rgb not in exact:
            exact.append(rgb)
    exact = exact[: PALETTE_COLORS // 4]
    w = max(s.width for s in samples)
    stack = Image.new("RGB", (w, sum(s.height for s in samples)))
    y = 0
    for s in samples:
        stack.paste(s.convert("RGB"), (0, y))
        y += s.height
    quantized = stack.quantize(
        colors=PALETTE_COLORS - len(exact),
        method=Image.Quantize.FASTOCTREE,
        dither=Image.Dither.NONE,
    )
    raw = quantized.getpalette() or []
    used = sorted(c for _, c in quantized.getcolors(PALETTE_COLORS) or [])
    colors = [tuple(raw[3 * i : 3 * i + 3]) for i in used]
    colors = [c for c in colors if c not in exact] + exact
    flat = [v for c in colors for v in c]
    flat += flat[-3:] * (PALETTE_COLORS - len(colors))  # pad by repeating (never a new colour)
    # 255 entries: quantizing onto it never yields index 255 (TRANSPARENT)
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat)
    return palette


def quantize_frames(
    frames: Iterable[Image.Image], palette: Image.Image, cancelled: IsCancelled | None = None
) -> Iterator[Image.Image]:
    """Each frame mapped onto the shared palette (no dithering), checking for cancel between."""
    for frame in frames:
        if cancelled is not None and cancelled():
            raise Cancelled()
        yield frame.quantize(palette=palette, dither=Image.Dither.NONE)


def write_gif(
    frames: Iterable[Image.Image],
    path: str | os.PathLike[str],
    count: int,
    palette: Image.Image,
    frame_ms: int = FRAME_MS,
    hold_ms: int = HOLD_MS,
    progress: Progress | None = None,
    cancelled: IsCancelled | None = None,
    commit: Callable[[Callable[[], None]], None] | None = None,
) -> GifResult:
    """Quantize ``count`` RGB frames onto ``palette`` and write them as a looping GIF, atomically.

    ``frames`` may be lazy (a generator fed by the renderer). ``progress(f)`` is called per frame;
    ``cancelled()`` is checked per frame and just before the file is put in place.
    ``commit(do_replace)`` lets the caller run the final os.replace under its own lock.
    """
    if count < 1:
        raise ValueError("a GIF needs at least one frame")
    target = check_writable(path)
    done = 0
    size: tuple[int, int] = (0, 0)
    colors = palette.getpalette() or []

    def deltas() -> Iterator[Image.Image]:
        """Frame 1 whole; then each frame with the pixels that did not change made transparent:
        long runs of one index, which LZW packs into almost nothing."""
        nonlocal done, size
        previous: np.ndarray | None = None
        for frame in quantize_frames(frames, palette, cancelled):
            size = frame.size
            indices = np.asarray(frame)
            if previous is not None:
                delta = np.where(indices == previous, TRANSPARENT, indices).astype(np.uint8)
                frame = Image.frombytes("P", size, delta.tobytes())
                frame.putpalette(colors)
            previous = indices
            done += 1
            if progress is not None:
                progress(0.9 * done / count)
            yield frame
        if done != count:
            raise ValueError(f"expected {count} frames, got {done}")

    with temp_beside(target) as (fd, tmp):
        with os.fdopen(fd, "wb") as fh:
            it = deltas()
            first = next(it)
            durations = [int(frame_ms)] * (count - 1) + [int(max(frame_ms, hold_ms))]
            first.save(
                fh,
                format="GIF",
                save_all=True,
                append_images=it,
                duration=durations if count > 1 else int(max(frame_ms, hold_ms)),
                loop=0,
                optimize=False,
                transparency=TRANSPARENT,
                disposal=1,  # keep the previous frame: each new one is drawn over it
            )
        nbytes = os.path.getsize(tmp)
        os.chmod(tmp, 0o644)

        def replace() -> None:
            if cancelled is not None and cancelled():
                raise Cancelled()
            os.replace(tmp, target)

        if commit is not None:
            commit(replace)
        else:
            replace()
    if progress is not None:
        progress(1.0)
    return GifResult(str(target), count, size, nbytes)


class FrameChannel:
    """Rendered frames handed from the GUI thread to the encoding job (thread-safe)."""

    def __init__(self, count: int, samples: Sequence[int]) -> None:
        self.count = count
        self.samples = tuple(samples)
        self._cond = threading.Condition()
        self._frames: dict[int, Image.Image] = {}
        self._cancelled = False
        self.committed = False

    def put(self, index: int, frame: Image.Image) -> None:
        with self._cond:
            self._frames[index] = frame
            self._cond.notify_all()

    def cancel(self) -> bool:
        """Stop the job; False when the file is already in place (too late to cancel)."""
        with self._cond:
            if self.committed:
                return False
            self._cancelled = True
            self._cond.notify_all()
            return True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _wait_for(self, index: int, cancelled: IsCancelled) -> Image.Image:
        with self._cond:
            while index not in self._frames:
                if self._cancelled or cancelled():
                    raise Cancelled()
                self._cond.wait(0.05)
            return self._frames[index]

    def sample_frames(self, cancelled: IsCancelled) -> list[Image.Image]:
        return [self._wait_for(i, cancelled) for i in self.samples]

    def frames(self, cancelled: IsCancelled) -> Iterator[Image.Image]:
        for i in range(self.count):
            frame = self._wait_for(i, cancelled)
            with self._cond:
                self._frames.pop(i, None)  # let it go once quantized
            yield frame

    def commit(self, replace: Callable[[], None]) -> None:
        with self._cond:
            if self._cancelled:
                raise Cancelled()
            replace()
            self.committed = True


def sample_indices(count: int) -> list[int]:
    """Which frames the palette is built from (and so are rendered first): last, first, middle."""
    return list(dict.fromkeys([count - 1, 0, count // 2]))


def encode_job(
    channel: FrameChannel,
    path: str,
    exact_colors: Sequence[str],
    frame_ms: int,
    hold_ms: int,
) -> Callable[[Progress, IsCancelled], GifResult]:
    """The JobRunner function: palette from the sample frames, then frames as they arrive."""

    def job(progress: Progress, runner_cancelled: IsCancelled) -> GifResult:
        def cancelled() -> bool:
            return channel.cancelled or runner_cancelled()

        palette = build_palette(channel.sample_frames(cancelled), exact_colors)
        return write_gif(
            channel.frames(cancelled),
            path,
            channel.count,
            palette,
            frame_ms,
            hold_ms,
            progress,
            cancelled,
            channel.commit,
        )

    return job


def render_gif(
    renderer: FrameRenderer,
    path: str | os.PathLike[str],
    max_frames: int = DEFAULT_MAX_FRAMES,
    frame_ms: int = FRAME_MS,
    hold_ms: int = HOLD_MS,
    progress: Progress | None = None,
) -> GifResult:
    """Render and write a GIF in one go on the calling (GUI) thread: for headless use, where
    nothing else needs the event loop. Frames are rendered lazily as the writer asks for them."""
    iterations = renderer.frame_iterations(max_frames)
    count = len(iterations)
    samples = {i: qimage_to_pil(renderer.render(iterations[i])) for i in sample_indices(count)}
    colors = [r.color for r in renderer.snapshot.racers]
    palette = build_palette(list(samples.values()), colors)

    def frames() -> Iterator[Image.Image]:
        for i, k in enumerate(iterations):
            frame = samples.pop(i, None)
            yield frame if frame is not None else qimage_to_pil(renderer.render(k))

    return write_gif(frames(), path, count, palette, frame_ms, hold_ms, progress)


# -- Qt side (GUI thread) --------------------------------------------------------------------------


class GifExport(QObject):
    """Renders a race snapshot frame by frame and has the JobRunner encode it.

    Exactly one of ``finished(path)``, ``failed(message)`` or ``cancelled()`` follows each
    ``start()``, never from inside it (so connect before or after, as you like);
    ``started(frames)`` is emitted by start() itself when the export got going, and
    ``progress(fraction)`` rises from 0 to 1.
    """

    started = Signal(int)  # number of frames (emitted by start() once the export is under way)
    progress = Signal(float)
    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, jobs: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.result: GifResult | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)  # one frame per event-loop tick
        self._timer.timeout.connect(self._render_next)
        self._renderer: FrameRenderer | None = None
        self._channel: FrameChannel | None = None
        self._job: int | None = None
        self._order: list[int] = []
        self._iterations: list[int] = []
        self._rendered = 0
        self._encoded = 0.0
        self._shown = 0.0
        self._path = ""
        jobs.progress.connect(self._on_job_progress)
        jobs.finished.connect(self._on_job_finished)
        jobs.failed.connect(self._on_job_failed)
        jobs.cancelled.connect(self._on_job_cancelled)

    @property
    def running(self) -> bool:
        return self._channel is not None

    @property
    def frame_count(self) -> int:
        return len(self._iterations)

    def start(
        self,
        snapshot: RaceSnapshot,
        path: str | os.PathLike[str],
        size: tuple[int, int] = DEFAULT_SIZE,
        max_frames: int = DEFAULT_MAX_FRAMES,
        frame_ms: int = FRAME_MS,
        hold_ms: int = HOLD_MS,
    ) -> None:
        """Begin exporting ``snapshot`` (see frame_renderer.snapshot_from_race) to ``path``."""
        if self.running:
            raise RuntimeError("a GIF export is already running")
        self.result = None
        self._path = os.fspath(path)
        self._rendered, self._encoded, self._shown = 0, 0.0, 0.0
        try:
            check_writable(self._path)
            if not 10 <= int(frame_ms) <= 10_000:
                raise ValueError(f"frame time must be 10–10,000 ms (got {frame_ms})")
        except (OSError, ValueError) as exc:
            QTimer.singleShot(0, self, lambda m=str(exc): self.failed.emit(m))
            return
        try:
            iterations = frame_iterations(snapshot.last, max_frames)
            renderer = FrameRenderer(snapshot, size)
        except Exception as exc:  # bad size / frames, or a drawing failure: report, don't raise
            message = f"cannot prepare the frames: {type(exc).__name__}: {exc}"
            if isinstance(exc, ValueError):
                message = str(exc)
            QTimer.singleShot(0, self, lambda m=message: self.failed.emit(m))
            return
        self._renderer = renderer
        self._iterations = iterations
        count = len(iterations)
        samples = sample_indices(count)
        self._order = samples + [i for i in range(count) if i not in samples]
        self._channel = FrameChannel(count, samples)
        colors = [r.color for r in snapshot.racers]
        self._job = self.jobs.submit(
            encode_job(self._channel, self._path, colors, int(frame_ms), int(hold_ms))
        )
        self._timer.start()
        self.started.emit(count)

    def cancel(self) -> None:
        """Stop now: rendering stops at once, the job removes its temp file, then ``cancelled``.
        (If the file was already put in place, ``finished`` follows instead.)"""
        if not self.running:
            return
        self._stop_rendering()
        if self._channel is not None and self._channel.cancel() and self._job is not None:
            self.jobs.cancel(self._job)

    # -- rendering -------------------------------------------------------------------------------
    @Slot()
    def _render_next(self) -> None:
        if self._renderer is None or self._channel is None or not self._order:
            self._stop_rendering()
            return
        index = self._order.pop(0)
        try:
            image = self._renderer.render(self._iterations[index])
            self._channel.put(index, qimage_to_pil(image))
        except Exception as exc:  # a drawing failure: report it, leave no file
            self._stop_rendering()
            message = f"cannot draw frame {index + 1}: {type(exc).__name__}: {exc}"
            channel, job = self._channel, self._job
            self._finish()
            if channel is not None and channel.cancel() and job is not None:
                self.jobs.cancel(job)
            self.failed.emit(message)
            return
        self._rendered += 1
        self._report()
        if not self._order:
            self._stop_rendering()

    def _stop_rendering(self) -> None:
        self._timer.stop()
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _report(self) -> None:
        count = max(1, len(self._iterations))
        value = RENDER_SHARE * self._rendered / count + (1 - RENDER_SHARE) * self._encoded
        value = min(1.0, max(self._shown, value))
        if value > self._shown:
            self._shown = value
            self.progress.emit(value)

    def _finish(self) -> None:
        self._channel = None
        self._job = None
        self._order = []

    # -- job results -----------------------------------------------------------------------------
    @Slot(int, float)
    def _on_job_progress(self, job_id: int, fraction: float) -> None:
        if job_id == self._job:
            self._encoded = fraction
            self._report()

    @Slot(int, object)
    def _on_job_finished(self, job_id: int, result: object) -> None:
        if job_id != self._job:
            return
        self._stop_rendering()
        self._finish()
        self.result = result if isinstance(result, GifResult) else None
        self.progress.emit(1.0)
        self.finished.emit(self._path)

    @Slot(int, str)
    def _on_job_failed(self, job_id: int, message: str) -> None:
        if job_id != self._job:
            return
        self._stop_rendering()
        self._finish()
        self.failed.emit(_clean(message))

    @Slot(int)
    def _on_job_cancelled(self, job_id: int) -> None:
        if job_id != self._job:
            return
        channel = self._channel
        self._stop_rendering()
        self._finish()
        if channel is not None and channel.committed:  # cancelled by shutdown after the write
            self.finished.emit(self._path)
        else:
            self.cancelled.emit()


def _clean(message: str) -> str:
    """JobRunner reports "Type: message"; our own errors need no type name."""
    for prefix in ("ExportError: ", "OSError: ", "ValueError: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
