"""The lesson navigator: the lecture as a list of live scenes, with each one's explanation.

Page Down / Page Up step through the lessons; choosing one applies its scene. The same title and
explanation appear large in presentation mode (LessonBanner).
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.scenario import Scenario


def title_html(title: str) -> str:
    """A plain-text title as rich text, with η_opt-style names set as subscripts."""
    text = html.escape(title)
    return re.sub(r"_(opt|max|min|[a-z0-9]+)", r"<sub>\1</sub>", text)


def lesson_html(scenario: Scenario, with_look_at: bool = True) -> str:
    parts = [f"<p>{scenario.explanation}</p>"] if scenario.explanation else []
    if with_look_at and scenario.look_at:
        parts.append(f"<p><b>Look at:</b> {scenario.look_at}</p>")
    return "".join(parts)


class LessonPanel(QWidget):
    lessonChosen = Signal(object)  # Scenario

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("lessonList")
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        layout.addWidget(self.list, 1)
        nav = QHBoxLayout()
        self.prev_button = QPushButton("◀ Previous (PgUp)")
        self.next_button = QPushButton("Next (PgDn) ▶")
        self.prev_button.clicked.connect(self.previous)
        self.next_button.clicked.connect(self.next)
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        layout.addLayout(nav)
        self.title = QLabel()
        self.title.setObjectName("lessonTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        layout.addWidget(self.title)
        self.text = QTextBrowser()
        self.text.setObjectName("lessonText")
        self.text.setOpenExternalLinks(False)
        layout.addWidget(self.text, 2)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #b35c00;")
        self.problems.hide()
        layout.addWidget(self.problems)
        self.lessons: list[Scenario] = []
        self.current = -1

    def set_lessons(self, lessons: list[Scenario], problems: list[str] | None = None) -> None:
        self.lessons = list(lessons)
        self.list.clear()
        for i, lesson in enumerate(self.lessons):
            number = lesson.lesson if lesson.lesson is not None else i + 1
            item = QListWidgetItem(f"{number}. {lesson.title}")
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.list.addItem(item)
        if problems:
            self.problems.setText("Some lesson files could not be read:\n" + "\n".join(problems))
            self.problems.show()
        else:
            self.problems.hide()

    def choose(self, index: int) -> None:
        if not 0 <= index < len(self.lessons):
            return
        self.current = index
        self.list.setCurrentRow(index)
        lesson = self.lessons[index]
        self.title.setText(title_html(lesson.title))
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.text.setHtml(lesson_html(lesson))
        self.lessonChosen.emit(lesson)

    def next(self) -> None:
        self.choose(min(self.current + 1, len(self.lessons) - 1))

    def previous(self) -> None:
        self.choose(max(self.current - 1, 0))

    def clear_selection(self) -> None:
        """The scene is no longer a lesson (user picked another function or opened a file)."""
        self.current = -1
        self.list.clearSelection()
        self.title.setText("")
        self.text.setHtml("")

    def _activated(self, item: QListWidgetItem) -> None:
        self.choose(int(item.data(Qt.ItemDataRole.UserRole)))


class LessonBanner(QWidget):
    """Lesson title and explanation above the canvas, sized for the back row (presentation)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        self.title = QLabel()
        self.title.setObjectName("bannerTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.text = QLabel()
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        self.set_point_sizes(28, 20)
        self.hide()

    def set_point_sizes(self, title_pt: int, text_pt: int) -> None:
        self.title.setStyleSheet(f"font-size: {title_pt}pt; font-weight: bold;")
        self.text.setStyleSheet(f"font-size: {text_pt}pt;")

    def show_text(self, title: str, html: str) -> None:
        self.title.setText(title_html(title))
        self.text.setText(html)
        self.text.setVisible(bool(html))
