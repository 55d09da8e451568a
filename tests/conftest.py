"""Shared test setup: Qt runs offscreen everywhere (CI has no screen)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
