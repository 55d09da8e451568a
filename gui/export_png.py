"""PNG export of any widget (the canvas, the whole window) at 2× its size, written atomically.

The widget is painted into a QImage with device pixel ratio ``scale``: layout stays in logical
pixels while text, lines and markers are rasterized at full resolution, so a 2× export is
sharp, not upscaled. Cosmetic pens (pyqtgraph's curves) are one *device* pixel wide whatever the
ratio, so trails, contours and curves are thickened by ``scale`` while painting and restored
right after: the export looks like the screen, only finer.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
from pyqtgraph.graphicsItems.LegendItem import ItemSample
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QRegion
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget

from gui.polyline_batch import PolylineBatch

MAX_SCALE = 8.0
INCH = 0.0254  # metres
SCREEN_DPI = 96


class ExportError(OSError):
    """An export that could not be written; the message names the file and the reason."""


def render_widget(widget: QWidget, scale: float = 1.0, background: QColor | None = None) -> QImage:
    """Paint ``widget`` and its children into a new RGB32 QImage of ``scale`` × its size."""
    if not (0 < scale <= MAX_SCALE):
        raise ValueError(f"scale must be > 0 and ≤ {MAX_SCALE:g} (got {scale:g})")
    size = widget.size()
    if size.width() <= 0 or size.height() <= 0:
        raise ValueError(f"cannot render an empty widget ({size.width()}×{size.height()})")
    w, h = round(size.width() * scale), round(size.height() * scale)
    image = QImage(w, h, QImage.Format.Format_RGB32)
    if image.isNull():
        raise MemoryError(f"cannot allocate a {w}×{h} image")
    image.setDevicePixelRatio(scale)
    if scale != 1:
        dots = round(SCREEN_DPI * scale / INCH)  # prints at the widget's on-screen size
        image.setDotsPerMeterX(dots)
        image.setDotsPerMeterY(dots)
    image.fill(background if background is not None else widget.palette().window().color())
    painter = QPainter(image)
    try:
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        with thicker_cosmetic_pens(widget, scale):
            # QWidget.render even for a QGraphicsView (whose own render() draws only its scene)
            QWidget.render(
                widget,
                painter,
                QPoint(0, 0),
                QRegion(),
                QWidget.RenderFlag.DrawWindowBackground | QWidget.RenderFlag.DrawChildren,
            )
    finally:
        painter.end()
    return image


@contextlib.contextmanager
def thicker_cosmetic_pens(widget: QWidget, factor: float) -> Iterator[None]:
    """Multiply the width of pyqtgraph's cosmetic line pens inside ``widget`` by ``factor`` for
    the duration of the block (curves, their shadows and legend samples, target markers, the
    batched trail tails and heads), and
    paint cached items afresh (their caches hold pixmaps at the screen's pixel ratio)."""
    if factor == 1:
        yield
        return
    views = [widget] if isinstance(widget, QGraphicsView) else []
    views += widget.findChildren(QGraphicsView)
    restore: list[tuple[object, str, object]] = []
    try:
        for view in views:
            scene = view.scene()
            if scene is None:
                continue
            for item in scene.items():
                _thicken(item, factor, restore)
                # an item cache is a pixmap at the screen's ratio: paint afresh at this one
                mode = item.cacheMode()
                if mode != QGraphicsItem.CacheMode.NoCache:
                    restore.append((item, "cache", mode))
                    item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        yield
    finally:
        for item, what, original in reversed(restore):
            if what == "cache":
                item.setCacheMode(original)
            elif what == "curve":
                item.setPen(original[0])
                item.setShadowPen(original[1])
            elif what == "opts":
                item.opts["pen"] = original
            elif what == "target":
                item.setPen(original)
            elif what == "batch":
                item.set_width_scale(original)


def _thick(pen: object, factor: float) -> QPen | None:
    if not isinstance(pen, QPen):
        return None
    if not pen.isCosmetic() or pen.style() == pg.QtCore.Qt.PenStyle.NoPen:
        return None
    out = QPen(pen)
    out.setWidthF(max(pen.widthF(), 1.0) * factor)
    return out


def _thicken(item: object, factor: float, restore: list) -> None:
    if isinstance(item, pg.PlotCurveItem):
        pen, shadow = item.opts.get("pen"), item.opts.get("shadowPen")
        new_pen, new_shadow = _thick(pen, factor), _thick(shadow, factor)
        if new_pen is None and new_shadow is None:
            return
        restore.append((item, "curve", (pen, shadow)))
        item.setPen(new_pen if new_pen is not None else pen)
        item.setShadowPen(new_shadow if new_shadow is not None else shadow)
    elif isinstance(item, pg.PlotDataItem):  # the legend sample paints from the item's opts
        new_pen = _thick(item.opts.get("pen"), factor)
        if new_pen is not None:
            restore.append((item, "opts", item.opts["pen"]))
            item.opts["pen"] = new_pen
    elif isinstance(item, ItemSample) and item.item.scene() is None:
        _thicken(item.item, factor, restore)  # a legend entry's own item, not in the scene
    elif isinstance(item, PolylineBatch):
        restore.append((item, "batch", item.width_scale))
        item.set_width_scale(item.width_scale * factor)
    elif isinstance(item, pg.TargetItem):
        new_pen = _thick(item.pen, factor)
        if new_pen is not None:
            restore.append((item, "target", item.pen))
            item.setPen(new_pen)


def image_bytes(image: QImage, fmt: str = "PNG") -> bytes:
    """The encoded file contents of a QImage (PNG by default)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, fmt)
    buffer.close()
    if not ok:
        raise ExportError(f"cannot encode the image as {fmt}")
    return bytes(data.data())


def check_writable(path: str | os.PathLike[str]) -> Path:
    """The absolute target path, or ExportError if its folder is missing or not writable."""
    target = Path(os.fspath(path)).expanduser()
    if not target.name or target.is_dir():
        raise ExportError(f"{target}: is a folder, not a file name")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise ExportError(f"{target}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"{target}: folder {str(folder)!r} is not writable")
    return target


@contextlib.contextmanager
def temp_beside(target: Path) -> Iterator[tuple[int, str]]:
    """A temp file next to ``target``, as ``(fd, path)``, for an atomic write: the body writes
    it and os.replace's it into place. If the body fails, the temp file is removed (``target``
    is untouched) and an OSError becomes an ExportError naming ``target``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ExportError(f"{target}: cannot write here: {exc.strerror or exc}") from None
    try:
        yield fd, tmp
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temp file next to ``path``, then os.replace it into place.

    If anything fails, an existing file at ``path`` is untouched and no temp file is left.
    """
    target = check_writable(path)
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o644
    with temp_beside(target) as (fd, tmp):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    return target


def save_image(image: QImage, path: str | os.PathLike[str], fmt: str = "PNG") -> Path:
    """Encode and write a QImage atomically; returns the path written."""
    check_writable(path)
    return write_atomic(path, image_bytes(image, fmt))


def export_png(widget: QWidget, path: str | os.PathLike[str], scale: float = 2) -> Path:
    """Write ``widget`` (the canvas, the main window, any widget) as a PNG of ``scale`` × its
    size; returns the path. Raises ValueError (bad scale, empty widget) or ExportError (an
    OSError: folder missing / not writable, disk full) with a message naming the file."""
    target = check_writable(path)  # fail before painting
    return save_image(render_widget(widget, scale), target)
