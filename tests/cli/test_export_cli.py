"""``descentlab export``: a scene raced headless to a GIF and/or a 2× PNG; bad input exits 2 with
one line on stderr and no traceback. Run as a real process, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

SCENE = {
    "version": 1,
    "title": "Himmelblau race",
    "objective": {"kind": "builtin", "name": "himmelblau"},
    "start": [-0.5, 0.5],
    "racers": [
        {"optimizer": "gd", "params": {"lr": 0.0005}},  # slow: runs every step asked for
        {"optimizer": "newton"},
        {"optimizer": "rprop", "enabled": False},
    ],
}


def export(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # set by the CLI
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "main.py", "export", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )


def write_scene(folder: Path, data=SCENE, name: str = "scene.json") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def assert_usage_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("descentlab export: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_gif_and_png_from_a_valid_scene(tmp_path):
    scene = write_scene(tmp_path)
    gif, png = tmp_path / "race.gif", tmp_path / "race.png"
    proc = export(
        str(scene), "--gif", str(gif), "--png", str(png), "--steps", "40", "--size", "400x300"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # not even Qt's offscreen-plugin chatter
    assert f"wrote {gif}: 41 frames, 400×300" in proc.stdout
    assert f"wrote {png}: 800×600" in proc.stdout
    with Image.open(gif) as im:
        assert im.format == "GIF"
        assert im.n_frames == 41  # steps 0..40, one frame each (fewer than 120)
        assert im.size == (400, 300)
        assert im.info["loop"] == 0
    with Image.open(png) as im:
        assert im.format == "PNG"
        assert im.size == (800, 600)  # the last frame at 2×
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.gif", "race.png", "scene.json"]


def test_gif_frames_are_capped_and_default_steps_come_from_the_scene(tmp_path):
    scene = write_scene(tmp_path, {**SCENE, "max_steps": 300})
    gif = tmp_path / "capped.gif"
    proc = export(str(scene), "--gif", str(gif), "--frames", "25", "--size", "320x240")
    assert proc.returncode == 0, proc.stderr
    with Image.open(gif) as im:
        assert im.n_frames == 25
        assert im.size == (320, 240)
    assert "shown to step 300 of 300" in proc.stdout


def test_png_only_of_a_one_dimensional_expression_scene(tmp_path):
    scene = write_scene(
        tmp_path,
        {
            "version": 1,
            "objective": {"kind": "expression", "expression": "x^4 - 3*x^2 + x"},
            "racers": [{"optimizer": "gd", "params": {"lr": 0.02}}],
        },
    )
    png = tmp_path / "curve.png"
    proc = export(str(scene), "--png", str(png), "--steps", "20")
    assert proc.returncode == 0, proc.stderr
    with Image.open(png) as im:
        assert im.size == (1600, 1200)


def test_malformed_scene_names_the_field(tmp_path):
    bad = json.loads(json.dumps(SCENE))
    bad["racers"][0]["params"]["lr"] = -1
    scene = write_scene(tmp_path, bad)
    proc = export(str(scene), "--gif", str(tmp_path / "x.gif"))
    line = assert_usage_error(proc, "scene.json", "racers[0].params.lr", "-1")
    assert "lr" in line
    assert not (tmp_path / "x.gif").exists()


def test_invalid_json_is_one_line(tmp_path):
    scene = write_scene(tmp_path, '{"version": 1, "objective": ', name="broken.json")
    assert_usage_error(export(str(scene), "--png", str(tmp_path / "x.png")), "broken.json")


def test_missing_scene_file(tmp_path):
    proc = export(str(tmp_path / "nope.json"), "--png", str(tmp_path / "x.png"))
    assert_usage_error(proc, "nope.json", "cannot read")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--steps", "0"], "--steps must be between 1 and 100,000"),
        (["--steps", "abc"], "whole number"),
        (["--steps", "1000001"], "--steps"),
        (["--frames", "0"], "--frames"),
        (["--size", "huge"], "--size"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments(tmp_path, args, fragment):
    scene = write_scene(tmp_path)
    proc = export(str(scene), "--gif", str(tmp_path / "x.gif"), *args)
    assert_usage_error(proc, fragment)
    assert not (tmp_path / "x.gif").exists()


def test_an_output_is_required(tmp_path):
    assert_usage_error(export(str(write_scene(tmp_path))), "--gif OUT.gif and/or --png OUT.png")


def test_unwritable_outputs(tmp_path):
    scene = write_scene(tmp_path)
    missing = tmp_path / "no" / "such" / "dir" / "x.gif"
    assert_usage_error(export(str(scene), "--gif", str(missing)), "does not exist")
    assert_usage_error(export(str(scene), "--png", str(tmp_path)), "is a folder")
    # a folder the OS refuses to create files in, even for root: fails at write time
    proc = export(str(scene), "--png", "/proc/descentlab-export.png", "--steps", "5")
    assert_usage_error(proc, "/proc/descentlab-export.png")


def test_trace_never_imports_qt():
    code = (
        "import sys, io, contextlib, main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main.main(['trace', '--function', 'himmelblau', '--optimizer', 'gd',"
        " '--start=0,0', '--steps', '3'])\n"
        "print(rc, any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.split() == ["0", "False"], proc.stderr
