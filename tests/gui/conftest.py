"""Fixtures for GUI tests: a main window with a known scene, and helpers to drive it."""

from __future__ import annotations

import pytest

from gui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1300, 850)
    win.show()
    qtbot.waitExposed(win)
    # wait for the default surface to arrive from the worker
    qtbot.waitUntil(lambda: win.canvas.surface is not None, timeout=5000)
    yield win
    win.close()


def racer_ids(win) -> list[int]:
    return [r.racer_id for r in win.racers_panel.racers if r.enabled]


def iterations(win) -> dict[int, int]:
    return {rid: h.latest_iteration for rid, h in win.race.histories.items()}


def status_of(win, racer_id: int) -> str | None:
    history = win.race.histories.get(racer_id)
    record = history.latest_record() if history is not None else None
    return record.status_name() if record is not None else None


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory):
    """Keep QSettings (last scene) out of the user's real configuration."""
    from PySide6.QtCore import QSettings

    path = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(path))
    yield path
