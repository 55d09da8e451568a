"""The η control's scale: a logarithmic bar with ticks at η_opt = 1/λ and 2η_opt for each
curvature of a quadratic, the current η as a handle, and the regime in words (lecture slide 46).
Click or drag on the bar to choose η; the regime label follows live."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from engine.analysis import REGIME_TEXT, regime

REGIME_COLORS = {
    "monotone": "#198754",
    "one-step": "#0d6efd",
    "oscillating": "#b58100",
    "oscillates-forever": "#d63384",
    "divergent": "#dc3545",
}


class EtaBar(QWidget):
    """The painted bar; emits the η picked with the mouse."""

    picked = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(34)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.curvatures: tuple[float, ...] = ()
        self.eta = 0.1
        self.lo, self.hi = 1e-3, 1.0

    def set_state(self, curvatures: tuple[float, ...], eta: float) -> None:
        self.curvatures = tuple(c for c in curvatures if c > 0)
        self.eta = eta
        marks = [1 / c for c in self.curvatures] + [2 / c for c in self.curvatures] + [eta]
        self.lo = min(marks) / 4
        self.hi = max(marks) * 4
        self.update()

    def _x(self, eta: float) -> float:
        margin = 8.0
        t = (math.log10(eta) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return margin + min(max(t, 0.0), 1.0) * (self.width() - 2 * margin)

    def _eta(self, x: float) -> float:
        margin = 8.0
        t = (x - margin) / max(self.width() - 2 * margin, 1.0)
        t = min(max(t, 0.0), 1.0)
        return 10 ** (math.log10(self.lo) + t * (math.log10(self.hi) - math.log10(self.lo)))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        mid = 12.0
        p.setPen(QPen(QColor("#888888"), 2))
        p.drawLine(QPointF(self._x(self.lo), mid), QPointF(self._x(self.hi), mid))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
        p.setFont(font)
        for i, c in enumerate(self.curvatures):
            suffix = "" if len(self.curvatures) == 1 else str(i + 1)
            for eta, text, color in (
                (1 / c, f"η_opt{suffix}", "#0d6efd"),
                (2 / c, f"2η_opt{suffix}", "#dc3545"),
            ):
                x = self._x(eta)
                p.setPen(QPen(QColor(color), 2))
                p.drawLine(QPointF(x, mid - 7), QPointF(x, mid + 7))
                p.drawText(QRectF(x - 40, mid + 7, 80, 14), Qt.AlignmentFlag.AlignHCenter, text)
        x = self._x(self.eta)
        p.setPen(QPen(QColor("#000000"), 1.5))
        p.setBrush(QColor("#ffffff"))
        p.drawEllipse(QPointF(x, mid), 5.5, 5.5)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.picked.emit(float(f"{self._eta(event.position().x()):.3g}"))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.picked.emit(float(f"{self._eta(event.position().x()):.3g}"))


class EtaScale(QWidget):
    """Bar + regime label for one racer's η on a quadratic with the given curvatures."""

    picked = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.bar = EtaBar()
        self.bar.picked.connect(self.picked)
        self.label = QLabel()
        self.label.setObjectName("regimeLabel")
        self.label.setWordWrap(True)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)

    def set_state(self, curvatures: tuple[float, ...], eta: float) -> None:
        self.bar.set_state(curvatures, eta)
        lines = []
        for i, c in enumerate(curvatures):
            name = regime(eta, c)
            where = "" if len(curvatures) == 1 else f"along λ{i + 1}: "
            color = REGIME_COLORS[name]
            text = html.escape(REGIME_TEXT[name]).replace("η_opt", "η<sub>opt</sub>")
            lines.append(f"{where}<span style='color:{color}'>{text}</span>")
        self.label.setText("<br>".join(lines))

    def regimes(self) -> list[str]:
        return [regime(self.bar.eta, c) for c in self.bar.curvatures]
