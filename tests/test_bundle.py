"""Build the PyInstaller bundle from descentlab.spec and run the built executable's --self-test.

Marked `bundle` (about a minute on a 2-core machine); CI runs it with the rest of the suite.
Skip it locally with `-m "not bundle"`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.bundle


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    if shutil.which("pyinstaller") is None and not _has_pyinstaller():
        pytest.fail("PyInstaller is not installed: it is part of the [test] extra")
    work = tmp_path_factory.mktemp("pyinstaller")
    dist = work / "dist"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            str(ROOT / "descentlab.spec"),
            "--noconfirm",
            "--distpath",
            str(dist),
            "--workpath",
            str(work / "build"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return dist / "DescentLab"


def _has_pyinstaller() -> bool:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return False
    return True


def test_bundle_contains_the_resources_and_no_excluded_qt_modules(bundle: Path) -> None:
    internal = bundle / "_internal"
    lessons = list((internal / "resources" / "lessons").glob("*.json"))
    assert len(lessons) >= 14
    assert (internal / "resources" / "icons" / "descentlab.svg").is_file()
    names = {p.name for p in internal.rglob("*")}
    for unwanted in ("libQt6Qml.so.6", "libQt6Quick.so.6", "libQt6Pdf.so.6", "libQt6Network.so.6"):
        assert unwanted not in names
    assert not any(n.startswith("matplotlib") for n in names)


def test_built_executable_passes_its_self_test(bundle: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [str(bundle / "DescentLab"), "--self-test"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=bundle.parent,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "0 failed" in result.stdout
    assert "lesson 14" in result.stdout


def test_bundle_size_is_reported(bundle: Path) -> None:
    size_mb = folder_size(bundle) / 1e6
    print(f"onedir bundle: {size_mb:.0f} MB")
    assert size_mb < 400  # a sanity bound; the goal (≤ 180 MB) is tracked by `python -m bench`
