"""Every lesson of the lecture, live in the window: it applies, its explanation is in the lesson
panel and in the presentation banner, and 50 steps (the Right key) run without a warning, a
logged error or a failed racer."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from engine.lessons import lesson_files, load_lessons
from gui.lesson_panel import lesson_html, title_html
from gui.main_window import MainWindow

STEPS = 50
LESSON_COUNT = len(lesson_files())

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.filterwarnings("error"),
]


def plain(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return " ".join(doc.toPlainText().split())


@pytest.fixture(scope="module")
def lecture(qapp, request):
    """One window in presentation mode, as in the lecture hall, with the lessons loaded."""
    bot = QtBot(request)
    win = MainWindow()
    win.resize(1300, 850)
    win.show()
    bot.waitExposed(win)
    bot.waitUntil(lambda: len(win.lesson_panel.lessons) > 0, timeout=15000)
    win.presentation.set_active(True)
    yield win
    win.presentation.set_active(False)
    win.close()
    win.deleteLater()


def test_every_lesson_file_loaded(lecture):
    assert LESSON_COUNT >= 10
    assert len(lecture.lesson_panel.lessons) == LESSON_COUNT
    assert not lecture.lesson_panel.problems.isVisible()
    assert lecture.lesson_panel.list.count() == LESSON_COUNT
    numbers = [lesson.lesson for lesson in lecture.lesson_panel.lessons]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("index", range(LESSON_COUNT))
def test_lesson_applies_explains_and_runs_50_steps(qtbot, lecture, caplog, index):
    win = lecture
    caplog.set_level(logging.WARNING)
    lesson = win.lesson_panel.lessons[index]
    assert lesson == load_lessons().lessons[index]

    with qtbot.waitSignal(win.scenes.sceneApplied, timeout=15000):
        win.lesson_panel.choose(index)
    assert win.windowTitle() == f"DescentLab — {lesson.title}"
    assert win.scenes.lesson == lesson.lesson
    assert win.race.start == lesson.start
    assert set(win.overlays.enabled()) == set(lesson.overlays)
    assert [r.optimizer for r in win.racers_panel.racers] == [r.optimizer for r in lesson.racers]
    qtbot.waitUntil(
        lambda: (
            win.canvas.surface is not None
            and win.canvas.surface.generation == win.race.surface_generation
        ),
        timeout=10000,
    )

    # the explanation, in the panel (with what to look at) and in the banner
    assert win.lesson_panel.list.currentRow() == index
    assert win.lesson_panel.title.text() == title_html(lesson.title)
    shown = " ".join(win.lesson_panel.text.toPlainText().split())
    assert plain(lesson.explanation) in shown
    if lesson.look_at:
        assert plain(lesson.look_at) in shown
    assert win.presentation.active and win.banner.isVisible()
    assert win.banner.title.text() == title_html(lesson.title)
    assert win.banner.text.text() == lesson_html(lesson, with_look_at=False)
    assert plain(win.banner.text.text()) == plain(lesson.explanation)

    enabled = [r.racer_id for r in win.racers_panel.racers if r.enabled]
    qtbot.waitUntil(lambda: set(win.race.histories) == set(enabled), timeout=5000)
    for _ in range(STEPS):
        qtbot.keyClick(win, Qt.Key.Key_Right)

    def done() -> bool:
        for history in win.race.histories.values():
            record = history.latest_record()
            if record is None:
                return False
            if record.iteration < STEPS and record.status_name() == "running":
                return False
        return True

    qtbot.waitUntil(done, timeout=15000)
    # the final state is drawn (cards, trails, overlays)
    qtbot.waitUntil(
        lambda: all(
            win.racers_panel.cards[rid]
            .readout.text()
            .startswith(f"k = {win.race.histories[rid].latest_iteration} ")
            for rid in enabled
        ),
        timeout=3000,
    )
    for rid in enabled:
        history = win.race.histories[rid]
        record = history.latest_record()
        status = record.status_name()
        assert status != "failed", (lesson.title, rid, record.messages)
        assert np.all(np.isfinite(history.positions()))
        expected = min(STEPS, lesson.max_steps)
        if status == "running":
            assert record.iteration == expected
        else:
            assert record.iteration <= expected
        assert win.racers_panel.cards[rid].badge.text() != "failed"
    assert not win.race.playing
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, [r.getMessage() for r in problems]
