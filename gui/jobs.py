"""Long jobs off the GUI thread: sweeps, basin maps, GIF encoding.

A job is a plain function ``fn(progress, cancelled) -> result``: it calls ``progress(fraction)``
now and then and returns early (raising engine.sweeps.Cancelled, or any exception) when
``cancelled()`` turns true. The runner owns one QThread, reports progress/results as queued
signals, and stops cleanly on shutdown.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from engine.sweeps import Cancelled

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[float], None], Callable[[], bool]], Any]


class _JobWorker(QObject):
    progress = Signal(int, float)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._cancel_flags: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def flag(self, job_id: int) -> threading.Event:
        with self._lock:
            return self._cancel_flags.setdefault(job_id, threading.Event())

    @Slot(int, object)
    def run(self, job_id: int, fn: JobFn) -> None:
        flag = self.flag(job_id)
        if flag.is_set():
            self.cancelled.emit(job_id)
            return
        try:
            result = fn(lambda f: self.progress.emit(job_id, float(f)), flag.is_set)
        except Cancelled:
            self.cancelled.emit(job_id)
        except Exception as exc:
            log.exception("background job %s failed", job_id)
            if flag.is_set():
                self.cancelled.emit(job_id)
            else:
                self.failed.emit(job_id, f"{type(exc).__name__}: {exc}")
        else:
            if flag.is_set():
                self.cancelled.emit(job_id)
            else:
                self.finished.emit(job_id, result)
        finally:
            with self._lock:
                self._cancel_flags.pop(job_id, None)


class JobRunner(QObject):
    """Runs submitted jobs one after another on a worker thread."""

    progress = Signal(int, float)  # job id, fraction done
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, str)  # job id, message
    cancelled = Signal(int)  # job id
    _submit = Signal(int, object)

    def __init__(self, name: str = "DescentLab jobs", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _JobWorker()
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._submit.connect(self._worker.run)
        self._worker.progress.connect(self.progress)
        self._worker.finished.connect(self.finished)
        self._worker.failed.connect(self.failed)
        self._worker.cancelled.connect(self.cancelled)
        self._thread.start()
        self._stopped = False
        _stop_at_exit(self, "shutdown")

    def submit(self, fn: JobFn) -> int:
        job_id = next(self._ids)
        if self._stopped:  # after shutdown (window closing): the job never runs
            return job_id
        self._worker.flag(job_id)
        self._submit.emit(job_id, fn)
        return job_id

    def cancel(self, job_id: int) -> None:
        """Ask a job to stop; it reports ``cancelled`` when it has."""
        self._worker.flag(job_id).set()

    def cancel_all(self) -> None:
        with self._worker._lock:
            flags = list(self._worker._cancel_flags.values())
        for flag in flags:
            flag.set()

    def shutdown(self) -> None:
        """Cancel everything and wait for the thread to end (call before the app quits)."""
        if self._stopped:
            return
        self._stopped = True
        self.cancel_all()
        self._thread.quit()
        self._thread.wait()


def _stop_at_exit(owner: QObject, method: str) -> None:
    """Also stop when the app quits or Python exits without a close event (e.g. after an error):
    a QThread destroyed while running aborts the process."""
    ref = weakref.ref(owner)

    def stop() -> None:
        obj = ref()
        if obj is not None:
            with contextlib.suppress(RuntimeError):  # the C++ side is already gone
                getattr(obj, method)()

    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(stop)
    atexit.register(stop)
