"""The one resolver for files under ``resources/`` (lessons, icons, the app icon).

In a source checkout the folder is ``<repo>/resources``, next to the ``engine`` package. In a
PyInstaller bundle (``sys.frozen`` set) the spec collects it as ``resources`` inside the bundle's
data folder, ``sys._MEIPASS`` (the one-file extraction folder, or ``_internal`` of a one-dir
build). Nothing here imports Qt, so the engine, the CLI and the tests can use it too.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePath

RESOURCES = "resources"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent  # engine/.. = the repository root


def resource_dir() -> Path:
    """The ``resources`` folder of this checkout or of the running bundle (absolute)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle).resolve() / RESOURCES
    return _SOURCE_ROOT / RESOURCES


def resource_path(*parts: str) -> Path:
    """``resource_dir()`` joined with relative ``parts``, e.g. ``resource_path("lessons")``.

    The path need not exist. Parts that would leave the resources folder (absolute paths,
    drive letters, ``..``) raise ValueError: a resource name is never a path from elsewhere.
    """
    rel = PurePath(*parts) if parts else PurePath()
    if rel.is_absolute() or rel.anchor or ".." in rel.parts:
        shown = "/".join(str(p) for p in parts)
        raise ValueError(f"a resource path must stay inside {RESOURCES}/ (got {shown!r})")
    return resource_dir().joinpath(rel)
