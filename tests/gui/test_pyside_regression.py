"""PySide6 6.12.0 on Python 3.11 aborts after ~5,000 void Qt calls (none_dealloc).

The dependency pin must keep a fresh install on a working version; this test makes sure the
installed one survives far more calls than the crash needed.
"""

from PySide6.QtCore import QObject, QTimer


def test_twenty_thousand_void_calls_do_not_abort(qapp):
    obj = QObject()
    timer = QTimer()
    for i in range(10_000):
        obj.setObjectName(f"n{i % 7}")  # void
        timer.setInterval(i % 50)  # void
    assert obj.objectName() == f"n{9_999 % 7}"
    assert timer.interval() == 9_999 % 50
