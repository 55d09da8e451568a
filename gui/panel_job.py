"""One panel's background job on the shared :class:`gui.jobs.JobRunner`.

The runner reports every job to everyone who listens; a :class:`TrackedJob` remembers the one job
its panel started (with the context key it was started for), ignores all others and re-emits
only its own job's progress and end. Starting a new job or dropping the current one cancels the
job in flight, and whatever that job still reports is ignored. The panel's progress bar follows
the job and is back at 0 whenever no job runs.

:class:`JobPanel` is the common base of the dock panels that run such jobs (the learning-rate
sweep, the basin map): the run / cancel / progress row, the status line, Cancel and the
messages for a failed or cancelled job.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.jobs import JobFn, JobRunner

PROGRESS_SCALE = 1000


class TrackedJob(QObject):
    """The current job of one panel: its id (None when idle) and context ``key``."""

    progress = Signal(float)  # fraction done
    finished = Signal(object, object)  # result, the key the job was started with
    failed = Signal(str)  # message
    cancelled = Signal()

    def __init__(
        self,
        runner: JobRunner,
        bar: QProgressBar | None = None,
        result_type: type = object,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.bar = bar
        self.result_type = result_type  # a result of another type is not this job's
        self.job_id: int | None = None
        self.key: object = None
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)

    @property
    def running(self) -> bool:
        return self.job_id is not None

    def start(self, fn: JobFn, key: object = None) -> int:
        """Submit ``fn`` for the context ``key``, cancelling the job in flight; returns the id."""
        self.drop()
        self.key = key
        self.job_id = self.runner.submit(fn)
        self._reset_bar()
        return self.job_id

    def drop(self) -> bool:
        """Cancel the job in flight and forget it (its reports are ignored); False if idle."""
        if self.job_id is None:
            return False
        self.runner.cancel(self.job_id)
        self._forget()
        return True

    def _forget(self) -> None:
        self.job_id = None
        self.key = None
        self._reset_bar()

    def _reset_bar(self) -> None:
        if self.bar is not None:
            self.bar.setValue(0)

    # -- the runner's signals: only this job's pass ------------------------------------------------
    @Slot(int, float)
    def _on_progress(self, job_id: int, fraction: float) -> None:
        if job_id != self.job_id:
            return
        if self.bar is not None:
            self.bar.setValue(int(round(fraction * self.bar.maximum())))
        self.progress.emit(fraction)

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self.job_id or not isinstance(result, self.result_type):
            return
        key = self.key
        self._forget()
        self.finished.emit(result, key)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.job_id:
            self._forget()
            self.failed.emit(message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self.job_id:
            self._forget()
            self.cancelled.emit()


class JobPanel(QWidget):
    """A dock panel that runs one job at a time in the shared runner.

    Subclasses build their widgets in :meth:`_panel_layout` with :meth:`_job_controls` and
    :meth:`_status_label`, start jobs with :meth:`_start`, and implement :meth:`_show_result`
    (the job's result and the key it was started for) and :meth:`_ready` (may Run be pressed).
    ``noun`` names the job in messages ("The map failed: …"); results that are not a
    ``result_type`` are ignored.
    """

    noun = "job"
    result_type: type = object

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.job = TrackedJob(runner, result_type=self.result_type, parent=self)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)

    def _panel_layout(self) -> tuple[QVBoxLayout, QFormLayout]:
        """The panel's column and the form at its top (not yet added: add it when filled)."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        return layout, form

    @property
    def job_id(self) -> int | None:
        """The id of the job in flight, None when idle."""
        return self.job.job_id

    def _job_controls(self, run_text: str) -> QHBoxLayout:
        """The row of ``run_button``, ``cancel_button`` and the slim ``progress`` bar."""
        row = QHBoxLayout()
        self.run_button = QPushButton(run_text)
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_SCALE)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(14)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        self.job.bar = self.progress
        return row

    def _status_label(self) -> QLabel:
        """The wrapped, selectable ``status`` line."""
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        return self.status

    # -- actions -----------------------------------------------------------------------------------
    @Slot()
    def run(self) -> int | None:
        raise NotImplementedError

    def _start(self, fn: JobFn, key: object, status: str) -> int:
        """Run ``fn`` for the context ``key`` (cancelling the job in flight), saying ``status``;
        returns the job id."""
        job_id = self.job.start(fn, key)
        self._set_status(status)
        self._update_enabled()
        return job_id

    @Slot()
    def cancel(self) -> None:
        """Stop the running job; whatever it would still report is ignored."""
        if self.job.drop():
            self._set_status("Cancelled.")
            self._update_enabled()

    # -- the job's end (TrackedJob passes on only the job in flight) -------------------------------
    @Slot(object, object)
    def _on_finished(self, result: object, key: object) -> None:
        self._update_enabled()
        self._show_result(result, key)

    def _show_result(self, result: object, key: object) -> None:
        """The job started for ``key`` is done (Run and Cancel are already updated)."""
        raise NotImplementedError

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._update_enabled()
        self._set_status(f"The {self.noun} failed: {message}", error=True)

    @Slot()
    def _on_cancelled(self) -> None:
        self._update_enabled()
        self._set_status("Cancelled.")

    # -- state -------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        raise NotImplementedError

    def _update_enabled(self) -> None:
        self.run_button.setEnabled(self._ready())
        self.cancel_button.setEnabled(self.job.running)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.STATUS_COLORS['diverged']};" if error else "")
