"""``descentlab basin``: writes a PNG and one summary line; bad input exits 2 with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.basin_cli import write_png
from engine.cli import main
from engine.palette import DIVERGED_COLOR, hex_to_rgb

ROOT = Path(__file__).resolve().parents[2]


def run(argv, capsys):
    code = main(["basin", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_a_png_pillow_can_open(tmp_path, capsys):
    out_png = tmp_path / "basin.png"
    code, out, err = run(
        [
            "--function",
            "himmelblau",
            "--optimizer",
            "newton",
            "--grid",
            "48",
            "--steps",
            "100",
            "--png",
            str(out_png),
        ],
        capsys,
    )
    assert code == 0, err
    assert err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert "9 attractors" in lines[0] and "minimum (3, 2)" in lines[0]
    assert "not converged 0, diverged 0" in lines[0] and " s;" in lines[0]
    with Image.open(out_png) as im:
        assert im.format == "PNG"
        assert im.size == (48 * 11, 48 * 11)  # upscaled by whole pixels to ≥ 512
        assert im.mode == "RGBA"
        pixels = np.asarray(im)
    # nearest-neighbour: each 11×11 block is one colour
    block = pixels[:11, :11].reshape(-1, 4)
    assert np.all(block == block[0])


def test_large_grids_are_not_upscaled(tmp_path, capsys):
    out_png = tmp_path / "b.png"
    code, _, err = run(
        [
            "--function",
            "booth",
            "--optimizer",
            "gd",
            "--set",
            "lr=0.05",
            "--grid",
            "600",
            "--steps",
            "3",
            "--png",
            str(out_png),
        ],
        capsys,
    )
    assert code == 0, err
    with Image.open(out_png) as im:
        assert im.size == (600, 600)


def test_view_and_divergence(tmp_path, capsys):
    out_png = tmp_path / "q.png"
    code, out, _ = run(
        [
            "--function",
            "quadratic_2d",
            "--optimizer",
            "gd",
            "--set",
            "lr=0.25",
            "--grid",
            "8",
            "--steps",
            "500",
            "--view=-3,3,-2,2",
            "--png",
            str(out_png),
        ],
        capsys,
    )
    assert code == 0
    assert "0 attractors" in out and "diverged" in out
    with Image.open(out_png) as im:
        pixels = np.asarray(im)
    assert tuple(pixels[0, 0, :3]) == hex_to_rgb(DIVERGED_COLOR)


def test_png_has_y_pointing_up(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, :, 0] = 255  # row 0 = lowest y: red
    path = tmp_path / "o.png"
    assert write_png(rgba, str(path)) == (512, 512)
    with Image.open(path) as im:
        pixels = np.asarray(im)
    assert np.all(pixels[-1, :, 0] == 255) and np.all(pixels[0, :, 0] == 0)


def test_expression(tmp_path, capsys):
    pytest.importorskip("sympy")
    out_png = tmp_path / "e.png"
    code, out, err = run(
        [
            "--expr",
            "(x^2 - 1)^2 + y^2",
            "--optimizer",
            "newton",
            "--set",
            "hessian_fix=abs",
            "--grid",
            "16",
            "--steps",
            "200",
            "--view=-2,2,-2,2",
            "--png",
            str(out_png),
        ],
        capsys,
    )
    assert code == 0, err
    assert out_png.exists()
    assert "minimum (1, 0)" in out and "minimum (-1, 0)" in out


BAD = [
    (["--function", "himmelblau", "--optimizer", "newton", "--grid", "1"], "--grid"),
    (["--function", "himmelblau", "--optimizer", "newton", "--grid", "1025"], "--grid"),
    (["--function", "himmelblau", "--optimizer", "newton", "--grid", "big"], "--grid"),
    (["--function", "himmelblau", "--optimizer", "newton", "--steps", "0"], "--steps"),
    (["--function", "himmelblau", "--optimizer", "newton", "--steps", "100001"], "--steps"),
    (["--function", "quadratic_1d", "--optimizer", "gd"], "two variables"),
    (["--function", "nope", "--optimizer", "gd"], "unknown function"),
    (["--function", "himmelblau", "--optimizer", "sgd"], "unknown optimizer"),
    (["--function", "himmelblau"], "--optimizer"),
    (["--optimizer", "gd"], "--function"),
    (["--function", "himmelblau", "--optimizer", "gd", "--set", "lr=-1"], "lr must be > 0"),
    (["--function", "himmelblau", "--optimizer", "gd", "--set", "speed=2"], "unknown parameter"),
    (["--function", "himmelblau", "--optimizer", "gd", "--set", "lr"], "key=value"),
    (["--function", "himmelblau", "--optimizer", "gd", "--view=1,2,3"], "--view"),
    (["--function", "himmelblau", "--optimizer", "gd", "--view=2,1,0,1"], "--view"),
    (["--function", "himmelblau", "--optimizer", "gd", "--view=0,1,0,nan"], "--view"),
    (["--function", "himmelblau", "--optimizer", "gd", "--tol=-1"], "--tol"),
    (["--function", "himmelblau", "--optimizer", "gd", "--colour", "red"], "unrecognized"),
    (["--function", "quadratic_2d", "--param", "lambda1=1e9", "--optimizer", "gd"], "lambda1"),
]


@pytest.mark.parametrize(("argv", "words"), BAD)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, words):
    out_png = tmp_path / "x.png"
    code, out, err = run([*argv, "--png", str(out_png)], capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("descentlab basin: error: ")
    assert words in err
    assert "Traceback" not in err
    assert not out_png.exists()


def test_missing_png_and_missing_folder(tmp_path, capsys):
    code, _, err = run(["--function", "himmelblau", "--optimizer", "gd"], capsys)
    assert code == 2 and "--png" in err
    code, _, err = run(
        ["--function", "himmelblau", "--optimizer", "gd", "--png", str(tmp_path / "no" / "x.png")],
        capsys,
    )
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_through_main_py(tmp_path):
    out_png = tmp_path / "m.png"
    ok = subprocess.run(
        [
            sys.executable,
            "main.py",
            "basin",
            "--function",
            "booth",
            "--optimizer",
            "newton",
            "--grid",
            "16",
            "--steps",
            "20",
            "--png",
            str(out_png),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "1 attractor " in ok.stdout and "minimum (1, 3): 256" in ok.stdout
    with Image.open(out_png) as im:
        im.verify()
    bad = subprocess.run(
        [
            sys.executable,
            "main.py",
            "basin",
            "--function",
            "booth",
            "--optimizer",
            "newton",
            "--grid",
            "0",
            "--png",
            str(out_png),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
