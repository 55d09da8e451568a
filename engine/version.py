"""The app's version: from the installed package metadata, else from pyproject.toml (checkout)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path


@cache
def app_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("descentlab")
    except (ImportError, PackageNotFoundError):
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        match = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text("utf-8"), re.M)
    except OSError:
        match = None
    return match.group(1) if match else "unknown"
