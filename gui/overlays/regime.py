"""The step-size regime box (lecture slides 44–56, 70).

Quadratic objectives (H constant, taken from a record's ``hess``): per eigen-direction λᵢ the
optimal step η_opt,i = 1/λᵢ and the divergence limit 2η_opt,i; κ = λmax/λmin (large κ ⇒ slow
convergence); and for each gradient-descent racer its η as a multiple of each η_opt,i with the
regime in words (engine.analysis). Other objectives: the *local* η_opt = 1/E″(w) (1-D) or the
Hessian's κ (2-D) at each head. The numbers come from engine.analysis.analyse_quadratic.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QFontMetricsF

from engine.analysis import REGIME_TEXT, analyse_quadratic
from engine.optimizers import optimizer_spec
from gui import theme
from gui.overlays import style
from gui.overlays.base import (
    LABEL_WEIGHT,
    NO_OBSTACLES,
    TEXT_PERIOD_S,
    Frame,
    LabelBox,
    Obstacles,
    Overlay,
    RacerFrame,
    finite,
    fmt,
    sub,
)

QUADRATICS = ("quadratic_1d", "quadratic_2d")
# racers whose update is w ← w − η·(gradient-like direction); the thresholds are plain GD's
GD_LIKE = {
    "gd": "",
    "momentum": "momentum changes these limits; shown: plain GD's",
    "nesterov": "momentum changes these limits; shown: plain GD's",
}
MARGIN_PX = 10.0
SWATCH = "■"
COLUMN_GAP_PX = 12  # between the eigenvalues and the detail in the local table


class RegimeOverlay(Overlay):
    name = "regime"
    title = "Step-size regime (η vs η_opt, κ)"
    text_cost = 4  # laying out and painting the box costs about as much as four labels

    def __init__(self, plot: pg.PlotItem, sizes: theme.Sizes = theme.NORMAL) -> None:
        super().__init__(plot, sizes)
        self.box: LabelBox | None = None
        self._html = ""
        self._dim = 2
        self._heads_px: list[tuple[float, float]] = []
        self._trail_px = np.empty((0, 2))
        self._trails: dict[int, tuple[tuple, np.ndarray]] = {}  # racer -> (key, trail sample)
        self._sizes: dict[float, tuple[float, float]] = {}  # text width -> box size, this page
        self._text_width = -1.0
        self._body: tuple[tuple, str, list] | None = None  # (key, html body, objects in the key)
        self._placed: tuple | None = None  # what the box's corner was chosen from
        self._rows: dict[int, tuple] = {}  # racer -> (key, its row in the local table, refs)
        self._shape = ""  # the page with its digits blanked out (see _size)
        self._shape_sizes: dict[tuple[str, float], tuple[float, float]] = {}
        self._digits_alike: dict[int, bool] = {}  # font points -> digits all of one width
        self.corner = ""
        self._text_at = -math.inf  # the last text turn and corner turn (the pace's clock)
        self._corner_at = -math.inf
        self._pending: str | None = None  # a new page, laid out on the next frame
        self._held: tuple = ()  # the scene and view the box was last worked out for
        self._tab_px = 80.0  # the local table's tab stop (pixels)
        plot.getViewBox().sigResized.connect(self._resized)

    # -- Overlay API ------------------------------------------------------------------------------
    def update(self, frame: Frame) -> None:
        # racing (TextPace), the box's work is spread over frames: the numbers are worked out
        # on its turn, laid out and painted on the next frame, and the corner is chosen half a
        # period later; other frames cost nothing
        scene = (frame.objective, frame.dim, frame.sizes, frame.view, frame.plot_px)
        steady = bool(
            self.pace.live
            and self._held == scene
            and frame.racers
            and self.box is not None
            and self.box.isVisible()
        )
        self._held = scene
        if steady and self._pending is not None:
            page, self._pending = self._pending, None
            self._set_page(page, frame.sizes, self._text_width)
            self._refit()
            return
        self._pending = None
        now = self.pace.now
        text_turn = not steady or self.pace.may_change(self._text_at, self.text_cost)
        corner_turn = not steady or (
            not text_turn
            and now - self._corner_at >= TEXT_PERIOD_S
            and now - self._text_at >= 0.5 * TEXT_PERIOD_S
        )
        if text_turn:
            self._text_at = now
        if corner_turn:
            self._corner_at = now
        if not (text_turn or corner_turn):
            self.box.set_cached(True)
            return
        self.sizes = frame.sizes
        self._dim = frame.dim
        if corner_turn:
            x0, _, _, y1 = frame.view
            self._heads_px = [
                ((r.head_xy[0] - x0) / frame.pixel[0], (y1 - r.head_xy[1]) / frame.pixel[1])
                for r in frame.racers
            ]
            self._trail_px = self._trail_pixels(frame)
        if text_turn:
            page = self._compose_page(frame)
            if not page:
                self.clear()
                return
            if steady and not self.pace.slow:
                if page != self._html:
                    self._pending = page  # laid out and painted on the next frame
            else:
                self._set_page(page, frame.sizes, -1.0 if corner_turn else self._text_width)
        if not self.box.isVisible():
            self.box.show()
        if corner_turn:
            self.reposition()
        else:
            self._refit()

    def _compose_page(self, frame: Frame) -> str:
        """The box's page ('' when there is nothing to say); creates the box the first time."""
        # the text depends on the racers' records and settings only
        key = (
            id(frame.objective),
            frame.dim,
            tuple((id(r.record), id(r.config)) for r in frame.racers),
        )
        if self._body is not None and self._body[0] == key:
            body = self._body[1]
        else:
            body = self.compose(frame)
            keep = [frame.objective, *((r.record, r.config) for r in frame.racers)]
            self._body = (key, body, keep)
        if not body:
            return ""
        if self.box is None:
            self.box = LabelBox(pg.mkBrush(style.LABEL_FILL), pg.mkPen(style.LABEL_BORDER))
            self.box.setZValue(style.Z_LABEL + 5)
            self.box.setParentItem(self.plot.getViewBox())
        # the tab stop of the local table travels with its page (see _local)
        return (
            f'<div style="font-size:{style.box_font_pt(frame.sizes)}pt; '
            f'color:{style.LABEL_TEXT}" data-tab="{self._tab_px:g}">{body}</div>'
        )

    def _set_page(self, page: str, sizes: theme.Sizes, width: float) -> None:
        """Lay the page out at ``width`` (−1: unwrapped) if it changed."""
        if page == self._html:
            self.box.set_cached(True)
            return
        text = self.box.textItem
        if self._text_width != width:
            # the new text is laid out at its width at once: set the width while the document
            # is empty, where that costs nothing (unwrapped when the corner is chosen: its
            # natural width is always needed then)
            text.setPlainText("")
            text.setTextWidth(width)
            self._text_width = width
        tab = float(_TAB.search(page).group(1))
        option = text.document().defaultTextOption()
        if option.tabStopDistance() != tab:
            option.setTabStopDistance(tab)
            text.document().setDefaultTextOption(option)
        text.setHtml(page)
        self.box.fit()
        # while racing the text changes a few times a second: painted into the cache at once;
        # stepping by hand, it changes on every frame: painted directly
        self.box.set_cached(self.pace.live)
        self._html = page
        self._sizes = {}
        self._placed = None
        self._shape = self._shape_of(page, sizes)
        size = text.boundingRect()
        laid_out = (size.width(), size.height())
        # laid out unwrapped just now: a page of the same shape measured otherwise means the
        # digits are not all alike after all (then sizes are measured page by page)
        if width == -1.0 and self._shape_sizes.get((self._shape, -1.0), laid_out) != laid_out:
            self._digits_alike = {key: False for key in self._digits_alike}
            self._shape_sizes = {}
            self._shape = page
        self._sizes[width] = laid_out

    def _refit(self) -> None:
        """The box in the corner it is in, at its new size (a text turn between corner turns)."""
        if not self.corner:
            self.reposition()
            return
        rect = self.plot.getViewBox().rect()
        size = self.box.textItem.boundingRect()
        m = MARGIN_PX
        left = rect.left() + m if self.corner.endswith("left") else rect.right() - m - size.width()
        top = rect.top() + m if self.corner.startswith("top") else rect.bottom() - m - size.height()
        if (self.box.pos().x(), self.box.pos().y()) != (left, top):
            self.box.setPos(left, top)

    def _trail_pixels(self, frame: Frame) -> np.ndarray:
        """A sample of every shown trail in plot pixels (n, 2); a racer's sample is computed
        again only when its shown iteration, its history or the view changed."""
        trails = {}
        for racer in frame.racers:
            key = (
                id(racer.history),
                racer.history.epoch,
                racer.k,
                frame.view,
                frame.pixel,
                frame.dim,
            )
            found = self._trails.get(racer.racer_id)
            if found is None or found[0] != key or found[2] is not racer.history:
                found = (key, _trail_pixels(frame, racer), racer.history)
            trails[racer.racer_id] = found
        self._trails = trails
        parts = [t[1] for t in trails.values()]
        return np.concatenate(parts) if parts else np.empty((0, 2))

    def clear(self) -> None:
        if self.box is not None:
            self.box.hide()
            if self.box.scene() is not None:
                self.box.scene().removeItem(self.box)
            self.box.setParentItem(None)
            self.box = None
        self._html = ""
        self._sizes = {}
        self._text_width = -1.0
        self._body = None
        self._pending = None
        self._placed = None
        self._trails = {}
        self._rows = {}

    def items(self) -> list:
        return [self.box] if self.box is not None else []

    def text(self) -> str:
        """What the box says, as plain text ('' when hidden)."""
        if self.box is None or not self.box.isVisible():
            return ""
        return self.box.textItem.toPlainText()

    def obstacle_arrays(self, frame: Frame) -> Obstacles:
        rect = self._rect()
        if rect is None:
            return NO_OBSTACLES
        return (
            np.array([[rect.left(), rect.top(), rect.right(), rect.bottom()]]),
            np.array([LABEL_WEIGHT]),
        )

    def _rect(self) -> QRectF | None:
        """The box in plot pixels (the ViewBox's own coordinates)."""
        if self.box is None or not self.box.isVisible():
            return None
        size = self.box.textItem.boundingRect()
        ax, ay = self.box.anchor
        pos = self.box.pos()
        return QRectF(
            pos.x() - ax * size.width(), pos.y() - ay * size.height(), size.width(), size.height()
        )

    def _size(self, width: float) -> tuple[float, float]:
        """The box's size with the text wrapped at ``width`` (−1: unwrapped), cached per page
        and per page shape (the page with its digits blanked out: digits of one width, as in
        most fonts, give pages of one shape the same layout, so a running race whose numbers
        change every frame does not lay its text out at every width every frame)."""
        found = self._sizes.get(width)
        if found is None:
            found = self._shape_sizes.get((self._shape, width))
        if found is None:
            if width != self._text_width:  # (setting even the same width lays the text out)
                self.box.textItem.setTextWidth(width)
                self._text_width = width
            rect = self.box.textItem.boundingRect()
            found = (rect.width(), rect.height())
        self._sizes[width] = found
        if len(self._shape_sizes) > 256:
            self._shape_sizes = {}
        self._shape_sizes[(self._shape, width)] = found
        return found

    def _shape_of(self, page: str, sizes: theme.Sizes) -> str:
        """``page`` with its digits replaced by 0 when all digits (and digit pairs) have one
        width in the box's fonts, else ``page`` itself."""
        pt = style.box_font_pt(sizes)
        alike = self._digits_alike.get(pt)
        if alike is None:
            alike = self._digits_alike[pt] = _digits_alike(self.box.textItem.font(), pt)
        return _DIGIT.sub("0", page) if alike else page

    def _resized(self, *_: object) -> None:
        self.reposition()

    def reposition(self, *_: object) -> None:
        """Into the freest corner of the plot: never over the legend (top-left) if avoidable,
        then over as few racer heads and trail points as possible; 2-D prefers top-right, 1-D
        bottom-right (the curve rises into the top corners). The text wraps to fit a corner."""
        if self.box is None:
            return
        view = self.plot.getViewBox()
        rect = view.rect()
        m = MARGIN_PX
        legend = getattr(self.plot, "legend", None)
        legend_rect = None
        if legend is not None and legend.isVisible() and legend.parentItem() is view:
            legend_rect = legend.mapRectToParent(legend.boundingRect())
        placed = (
            self._html,
            self._dim,
            rect.getRect(),
            None if legend_rect is None else legend_rect.getRect(),
            tuple(self._heads_px),
            tuple((rid, t[0]) for rid, t in self._trails.items()),
        )
        if placed == self._placed:  # nothing the choice depends on changed
            return
        natural = self._size(-1.0)[0]
        full = rect.width() - 2 * m
        beside_legend = full if legend_rect is None else rect.right() - m - legend_rect.right() - m
        order = ["bottom-right", "bottom-left", "top-right"] if self._dim == 1 else None
        order = order or ["top-right", "bottom-right", "bottom-left"]
        widths = []
        for name in order:
            limit = beside_legend if name == "top-right" else full
            widths.append(-1.0 if natural <= limit else max(limit, 0.55 * natural, 160.0))
        best = None
        # corners where the text fits unwrapped first: when one of them covers neither the
        # legend nor a head, no wrapped corner can win and its size need not be worked out
        natural_h = self._size(-1.0)[1]
        for rank in sorted(range(len(order)), key=lambda i: widths[i] > 0):
            name, width = order[rank], widths[rank]
            if width > 0 and best is not None:
                # text wrapped at ``width`` is at least that wide and as tall as unwrapped: if
                # that smaller box already loses, the corner does (its size is not worked out)
                left = rect.left() + m if name.endswith("left") else rect.right() - m - width
                top = rect.top() + m if name.startswith("top") else rect.bottom() - m - natural_h
                inner = QRectF(left, top, width, natural_h)
                covers_legend = int(legend_rect is not None and inner.intersects(legend_rect))
                heads = sum(1 for p in self._heads_px if inner.contains(*p))
                if (covers_legend, heads, 1, 0, rank) > best[0]:
                    continue
            w, h = self._size(width)
            left = rect.left() + m if name.endswith("left") else rect.right() - m - w
            top = rect.top() + m if name.startswith("top") else rect.bottom() - m - h
            box = QRectF(left, top, w, h)
            covers_legend = int(legend_rect is not None and box.intersects(legend_rect))
            heads = sum(1 for p in self._heads_px if box.contains(*p))
            trail = _count_inside(self._trail_px, box)
            cost = (covers_legend, heads, int(width > 0), trail, rank)
            if best is None or cost < best[0]:
                best = (cost, name, width, left, top)
        _, name, width, left, top = best
        if width != self._text_width:
            self.box.textItem.setTextWidth(width)
            self._text_width = width
        if self.box.rect().size() != self.box.textItem.boundingRect().size():
            self.box.fit()
        if (self.box.pos().x(), self.box.pos().y()) != (left, top):
            self.box.setPos(left, top)
        self.corner = name
        self._placed = placed

    # -- text -------------------------------------------------------------------------------------
    def compose(self, frame: Frame) -> str:
        """The box's HTML ('' for nothing to say)."""
        if not frame.racers:
            return ""
        name = frame.objective.name if frame.objective is not None else ""
        if name in QUADRATICS:
            return self._quadratic(frame)
        return self._local(frame)

    def _quadratic(self, frame: Frame) -> str:
        hess = next((r.record.hess[0] for r in frame.racers if r.record.hess is not None), None)
        if hess is None or not finite(hess):
            return ""
        base = analyse_quadratic(hess, 1.0)
        d = len(base.directions)
        rows = []
        title = "Quadratic: H = A is the same everywhere" if d == 2 else "Quadratic: E″(w) = a"
        rows.append(f"<b>{title}</b>")
        cells = []
        for i, direction in enumerate(base.directions):
            lam = direction.eigenvalue
            name = f"λ{sub(i + 1)}" if d == 2 else "a"
            idx = sub(i + 1) if d == 2 else ""
            if lam > 0:
                cells.append(
                    _row(
                        f"{name} = {fmt(lam)}",
                        f"η<sub>opt</sub>{idx} = 1/{name} = {fmt(direction.eta_opt)}",
                        f"2η<sub>opt</sub>{idx} = {fmt(direction.eta_limit)}",
                    )
                )
            else:
                cells.append(
                    _row(f"{name} = {fmt(lam)}", "no minimum along this direction", "(λ ≤ 0)")
                )
        rows.append(_table(cells))
        if d == 2:
            kappa = base.condition_number
            if math.isfinite(kappa):
                rows.append(
                    f"κ = λ<sub>max</sub>/λ<sub>min</sub> = <b>{fmt(kappa)}</b>"
                    + (
                        " — large κ ⇒ slow convergence:<br>&nbsp;&nbsp;η must stay below "
                        f"2/λ<sub>max</sub> = {fmt(base.eta_max_stable)}, so the λ<sub>min</sub> "
                        "direction crawls"
                        if kappa > 1.0 + 1e-9
                        else " — perfectly conditioned: one η fits every direction"
                    )
                )
            else:
                rows.append("κ undefined: H is not positive definite")
        for racer in frame.racers:
            spec = GD_LIKE.get(racer.config.optimizer)
            if spec is None:
                continue
            lr, lr_name = _learning_rate(racer)
            if lr is None:
                continue
            an = analyse_quadratic(hess, lr)
            rows.append(
                f"{_swatch(racer.color)} <b>{html.escape(racer.config.title)}</b>: "
                f"{lr_name} = {fmt(lr)}"
            )
            cells = []
            for i, direction in enumerate(an.directions):
                where = f"along λ{sub(i + 1)}:" if d == 2 else ""
                if direction.eigenvalue > 0:
                    ratio = f"{lr_name} = {fmt(lr / direction.eta_opt)}·η<sub>opt</sub>"
                else:
                    ratio = f"{lr_name} &gt; 0 with λ ≤ 0"
                color = _regime_color(direction.regime)
                words = _html_eta(html.escape(REGIME_TEXT[direction.regime]))
                cells.append(_row(where, ratio, f'→ <span style="color:{color}">{words}</span>'))
            rows.append(_table(cells, indent=True))
            if spec:
                rows.append(f"&nbsp;&nbsp;<i>({spec})</i>")
        return _join(rows)

    def _local(self, frame: Frame) -> str:
        """One line per head: swatch(es) and eigenvalues, a tab, then the detail. Lines with a
        tab stop, not an HTML table: this text changes while racing, and a table's layout
        costs a few times more (the tab stop is set on the document, see ``update``)."""
        head = "E″(w)" if frame.dim == 1 else "the Hessian"
        rows = [f"<b>Curvature at the heads</b> ({head}; E is not quadratic)"]
        cells: list[list] = []  # [colours, text, detail]
        seen: dict[bytes, int] = {}
        rows_cache = {}
        for racer in frame.racers:
            # a racer's row is worked out again only when its record or settings changed
            key = (id(racer.record), id(racer.config), frame.dim)
            found = self._rows.get(racer.racer_id)
            if found is None or found[0] != key:
                found = (key, _local_row(frame.dim, racer), racer.record, racer.config)
            rows_cache[racer.racer_id] = found
            row = found[1]
            if row is None:
                continue
            point, text, detail = row
            if point in seen:  # same point as an earlier racer: add its colour to that row
                cells[seen[point]][0].append(racer.color)
                continue
            seen[point] = len(cells)
            cells.append([[racer.color], text, detail])
        self._rows = rows_cache
        if not cells:
            return ""
        metrics = QFontMetricsF(self._box_font(frame.sizes))
        first = max(
            metrics.horizontalAdvance(SWATCH * len(colors) + " " + text)
            for colors, text, _ in cells
        )
        self._tab_px = math.ceil(first) + COLUMN_GAP_PX
        lines = [
            "".join(_swatch(c) for c in colors) + f" {text}\t{detail}"
            for colors, text, detail in cells
        ]
        rows.append(f'<div style="white-space:pre-wrap">{"<br>".join(lines)}</div>')
        if frame.dim == 2 and any("κ(H)" in c[2] for c in cells):
            # the definition once, not on every line (the lines change while racing: short
            # lines with few formats are laid out and painted quickly)
            rows.append(
                "κ(H) = λ<sub>max</sub>/λ<sub>min</sub>: large κ ⇒ narrow valley ⇒ "
                "slow gradient descent"
            )
        return _join(rows)

    def _box_font(self, sizes: theme.Sizes) -> QFont:
        font = QFont(self.box.textItem.font()) if self.box is not None else QFont()
        font.setPointSize(style.box_font_pt(sizes))
        return font


def _local_row(dim: int, racer: RacerFrame) -> tuple[bytes, str, str] | None:
    """(the head as bytes, curvature text, detail) of one racer's row in the local table."""
    hess = racer.record.hess
    if hess is None or not finite(hess[0]):
        return None
    point = np.asarray(racer.head, float).tobytes()
    an = analyse_quadratic(hess[0], 1.0)
    if dim == 1:
        direction = an.directions[0]
        lam = direction.eigenvalue
        text = f"E″ = {fmt(lam)}"
        if lam > 0:
            detail = (
                f"local η<sub>opt</sub> = 1/E″ = {fmt(direction.eta_opt)}, "
                f"2η<sub>opt</sub> = {fmt(direction.eta_limit)}"
            )
            lr, lr_name = _learning_rate(racer)
            if lr is not None and racer.config.optimizer in GD_LIKE:
                detail += f";  {lr_name} = {fmt(lr / direction.eta_opt)}·η<sub>opt</sub>"
        else:
            detail = "E″ ≤ 0: curving down, no local η<sub>opt</sub>"
    else:
        lams = ", ".join(fmt(v.eigenvalue) for v in an.directions)
        text = f"λ = {lams}"
        kappa = an.condition_number
        detail = (
            f"κ(H) = <b>{fmt(kappa)}</b>"
            if math.isfinite(kappa)
            else "not positive definite: κ undefined"
        )
    return point, text, detail


# -- placement helpers ----------------------------------------------------------------------------
_DIGIT = re.compile("[0-9]")
_TAB = re.compile(r'data-tab="([0-9.e+-]+)"')


def _digits_alike(font: QFont, points: int) -> bool:
    """Whether every digit and every pair of digits is equally wide in ``font`` at ``points``,
    regular and bold (so that changing digits never changes a text's layout)."""
    for bold in (False, True):
        f = QFont(font)
        f.setPointSize(points)
        f.setBold(bold)
        metrics = QFontMetricsF(f)
        one = metrics.horizontalAdvance("0")
        if any(metrics.horizontalAdvance(d) != one for d in "123456789"):
            return False
        if any(
            metrics.horizontalAdvance(a + b) != 2 * one for a in "0123456789" for b in "0123456789"
        ):
            return False
    return True


TRAIL_SAMPLES = 400  # trail points per racer considered when choosing the box's corner


def _trail_pixels(frame: Frame, racer: RacerFrame) -> np.ndarray:
    """A sample of a racer's shown trail, in plot pixels (n, 2)."""
    x0, _, _, y1 = frame.view
    pts = racer.history.positions(racer.k)
    step = max(1, len(pts) // TRAIL_SAMPLES)
    pts = pts[::step]
    ys = racer.history.losses(racer.k)[::step] if frame.dim == 1 else pts[:, 1]
    xy = np.stack([(pts[:, 0] - x0) / frame.pixel[0], (y1 - ys) / frame.pixel[1]], axis=1)
    return xy[np.all(np.isfinite(xy), axis=1)]


def _count_inside(points: np.ndarray, box: QRectF) -> int:
    if not len(points):
        return 0
    inside = (
        (points[:, 0] >= box.left())
        & (points[:, 0] <= box.right())
        & (points[:, 1] >= box.top())
        & (points[:, 1] <= box.bottom())
    )
    return int(inside.sum())


# -- html helpers --------------------------------------------------------------------------------
def _html_eta(text: str) -> str:
    return text.replace("η_opt", "η<sub>opt</sub>")


_BLOCKS = ("<table", "<div")


def _join(rows: list[str]) -> str:
    """Rows joined by line breaks, except around tables (which are blocks already)."""
    out = ""
    for i, row in enumerate(rows):
        if i and not row.startswith(_BLOCKS) and not rows[i - 1].startswith(_BLOCKS):
            out += "<br>"
        out += row
    return out


def _row(*cells: str) -> str:
    return "<tr>" + "".join(f'<td style="padding-right:10px">{c}</td>' for c in cells) + "</tr>"


def _table(rows: list[str], indent: bool = False) -> str:
    margin = "margin-left:18px;" if indent else ""
    return f'<table cellspacing="0" cellpadding="1" style="{margin}">{"".join(rows)}</table>'


def _swatch(color: str) -> str:
    return f'<span style="color:{color}">{SWATCH}</span>'


def _regime_color(regime: str) -> str:
    return {
        "monotone": style.CURVATURE_POSITIVE,
        "one-step": style.CURVATURE_POSITIVE,
        "oscillating": style.RPROP_RETURN_COLOR,
        "oscillates-forever": "#ff9f1c",
        "divergent": style.CURVATURE_NEGATIVE,
    }[regime]


def _learning_rate(racer: RacerFrame) -> tuple[float | None, str]:
    """The racer's η: its lr parameter; with a schedule, the η_k of its latest step."""
    params = racer.config.params
    if params.get("schedule", "constant") != "constant":
        used = racer.record.visible.get("lr")
        if used is not None and finite(used[0]):
            return float(used[0]), "η<sub>k</sub>"
    lr = params.get("lr")
    if lr is None:
        try:
            lr = optimizer_spec(racer.config.optimizer).param("lr").default
        except (KeyError, ValueError):
            return None, "η"
    value = float(np.asarray(lr, float).ravel()[0])
    return (value, "η") if math.isfinite(value) and value > 0 else (None, "η")
