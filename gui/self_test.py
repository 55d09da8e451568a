"""`descentlab --self-test`: open the window offscreen, load every lesson, run every optimizer a
few steps, export a PNG, close cleanly. Prints each check; exit code 0 only if all passed.

It runs the real app code (the worker thread, the scene loader, the exporter), so it is also
the smoke test of the PyInstaller bundle.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

STEPS = 5


class SelfTest:
    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def check(self, name: str, fn: Callable[[], str | None]) -> None:
        try:
            detail = fn()
        except Exception as exc:  # report and carry on with the other checks
            self.failures.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(file=sys.stderr)
            return
        self.passed += 1
        print(f"ok    {name}" + (f" ({detail})" if detail else ""), flush=True)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the event loop run (10 ms at a time) until ``condition`` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for the app")
        loop = QEventLoop()
        QTimer.singleShot(10, loop.quit)
        loop.exec()


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("DescentLab")
    app.setOrganizationName("DescentLab")
    settings_dir = tempfile.mkdtemp(prefix="descentlab-selftest-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    from engine.lessons import load_lessons
    from engine.optimizers import optimizer_names
    from gui.export_png import export_png
    from gui.main_window import MainWindow
    from gui.racers import make_racer

    test = SelfTest()
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    race = window.race

    def surface_ready() -> str:
        wait_until(lambda: window.canvas.surface is not None)
        return f"{window.windowTitle()}"

    test.check("window opens and draws its surface", surface_ready)

    def run_steps(expect_dim: int | None = None) -> str:
        wait_until(lambda: bool(race.histories) and all(h.count for h in race.histories.values()))
        for _ in range(STEPS):
            race.step()
        wait_until(
            lambda: all(
                h.latest_iteration >= STEPS or h.latest_record().status_name() != "running"
                for h in race.histories.values()
            )
        )
        statuses = []
        for history in race.histories.values():
            points = history.positions()
            if not np.all(np.isfinite(points)):
                raise AssertionError("a non-finite point reached the GUI")
            record = history.latest_record()
            if record.status_name() == "failed":
                raise AssertionError(f"racer failed: {record.messages.get(0, '')}")
            statuses.append(record.row_label())
        return ", ".join(statuses)

    lessons = load_lessons()
    test.check(
        "lesson files load",
        lambda: (
            f"{len(lessons.lessons)} lessons"
            if not lessons.errors and lessons.lessons
            else _fail(f"{lessons.errors or 'no lessons found'}")
        ),
    )
    for lesson in lessons.lessons:

        def lesson_check(lesson=lesson) -> str:
            window.scenes.apply_scenario(lesson)
            wait_until(lambda: window.scene_name == lesson.title, timeout=20)
            return run_steps()

        test.check(f"lesson {lesson.lesson}: {lesson.title}", lesson_check)

    window.scenes.request_objective(_himmelblau())
    for name in optimizer_names():

        def optimizer_check(name=name) -> str:
            window.racers_panel.set_racers([make_racer(name, "#ff0000")])
            race.start_at((-1.0, 1.0), play=False)
            return run_steps()

        test.check(f"optimizer {name} runs {STEPS} steps", optimizer_check)

    out_dir = Path(tempfile.mkdtemp(prefix="descentlab-selftest-png-"))

    def png_check() -> str:
        path = export_png(window.canvas, out_dir / "canvas.png")
        size = Path(path).stat().st_size
        if size < 10_000:
            raise AssertionError(f"PNG suspiciously small ({size} bytes)")
        return f"{size // 1024} KiB"

    test.check("PNG export", png_check)

    def close_check() -> str:
        thread = race.thread.thread
        window.close()
        if thread.isRunning():
            raise AssertionError("worker thread still running after close")
        return "worker thread stopped"

    test.check("window closes cleanly", close_check)
    print(f"self-test: {test.passed} passed, {len(test.failures)} failed", flush=True)
    for failure in test.failures:
        print(f"  failed: {failure}", flush=True)
    return 0 if not test.failures else 1


def _fail(message: str) -> str:
    raise AssertionError(message)


def _himmelblau():
    from engine.scenario import ObjectiveSpec

    return ObjectiveSpec("builtin", "himmelblau")
