"""Every subcommand answers garbage with exit code 2 and exactly one line on stderr.

``trace``, ``basin`` (engine.cli) and ``export`` (gui.export_cli) get hypothesis-generated argv
lists, in process: a valid command with one to three "poisons" that each make it invalid
(missing values, unknown flags, non-numeric numbers, NaN/inf, huge numbers, empty strings,
unicode, folders and unwritable paths as outputs), and token soups. A representative fixed list
runs through ``python main.py ...`` as a user would: exit code 2, nothing on stdout, one line on
stderr, no traceback, nothing written.

tests/cli/ checks the messages of ~40 hand-picked bad inputs; this module generates them.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine.cli import main as cli_main
from engine.objectives import objective_names
from engine.optimizers import optimizer_names
from gui.export_cli import main as export_main

DEEP = os.environ.get("DESCENTLAB_DEEP_FUZZ", "") not in ("", "0")
PROFILE = settings.get_profile("deep" if DEEP else "ci")
ROOT = Path(__file__).resolve().parents[2]


def budget(ci: int, deep: int) -> settings:
    return settings(PROFILE, max_examples=deep if DEEP else ci)


# a scratch folder for outputs and scenes, shared by the hypothesis examples (no function fixture)
@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "a-file.txt").write_text("not a folder\n")
    (folder / "garbage.json").write_bytes(bytes(range(256)) * 4)
    (folder / "truncated.json").write_text('{"version": 1, "objective": {"name": "bo')
    (folder / "scene.json").write_text(
        json.dumps(
            {
                "version": 1,
                "objective": {"name": "himmelblau"},
                "start": [0.5, 0.5],
                "racers": [{"optimizer": "gd"}],
            }
        )
    )
    (folder / "bad-field.json").write_text(
        json.dumps({"version": 1, "objective": {"name": "himmelblau"}, "speed": "fast"})
    )
    (folder / "out").mkdir()
    return folder


def call(entry: Callable[[list[str]], int], argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run a CLI entry point in process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)  # a stray relative output lands in the scratch folder, never in the repo
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = entry(argv)
    finally:
        os.chdir(before)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_refusal(code: int, out: str, err: str, argv) -> None:
    assert code == 2, (code, argv, out[:200], err)
    assert out == "", (argv, out[:200])
    assert err.endswith("\n") and err.count("\n") == 1, (argv, err)
    assert len(err.splitlines()) == 1, (argv, err)
    assert "Traceback" not in err and err.strip(), (argv, err)
    assert err.startswith("descentlab"), err


# -- poisons: each turns any valid command into an invalid one -------------------------------------

TRACE_BASES = [
    ["--function", "rosenbrock", "--optimizer", "gd", "--start=1,1", "--steps", "3"],
    ["--expr", "x^2 + 3*y^2", "--optimizer", "adam", "--start=1,-1", "--steps", "3"],
    ["--function", "quadratic_1d", "--param", "a=2", "--optimizer", "newton", "--start=1"],
]
BASIN_BASE = ["--function", "himmelblau", "--optimizer", "gd", "--grid", "3", "--steps", "2"]

BAD_VALUES = {
    "--function": ["", " ", "nope", "ROSENBROCK", "rosenbrock ", "rosenbröck", "☃", "-1", "x^2"],
    "--expr": ["", "x +", "__import__('os')", "sin(9^85)", "9**9**9", "x\ny", "x" * 5000, "2x"],
    "--param": ["zz=1", "a=nan", "a=inf", "a=-1e9", "a=abc", "a", "=1", "a=1e400", "a="],
    "--optimizer": ["", "sgd", "GD", "gd ", "newton\x00", "ñewton", "lbfgs-b"],
    "--set": ["lr=0", "lr=-1", "lr=nan", "lr=inf", "lr", "=1", "lr=1e400", "nope=1", "lr=abc"],
    "--start=": ["", ",", "1,,1", "nan,1", "inf,0", "1e400,0", "a,b", "1,2,3", "1;1", " ", "1,1,"],
    "--steps": ["abc", "1.5", "1e3", "-1", "1000001", "9" * 50, "", "nan", "0x10", "½"],
    "--tol": ["nan", "inf", "-1", "abc", "", "1e400", "-inf"],
    "--format": ["xml", "", "JSON", "csv "],
    "--grid": ["1", "0", "-1", "1025", "abc", "2.5", ""],
    "--view": ["1,0,0,1", "nan,1,0,1", "0,1,0", "a,b,c,d", "", "0,1,1,1", "inf,1,0,1"],
}
# options that would be valid with some value: only appended with a bad one
TRACE_OPTIONS = ["--function", "--expr", "--param", "--optimizer", "--set", "--steps", "--tol"]
TRACE_OPTIONS += ["--format"]
BASIN_OPTIONS = [*TRACE_OPTIONS[:-1], "--grid", "--view"]
ALL_OPTIONS = {
    "trace": [*TRACE_OPTIONS, "--start", "--list-functions", "--list-optimizers", "--help"],
    "basin": [*BASIN_OPTIONS, "--png", "--help"],
}
UNKNOWN_FLAGS = ["--bogus", "-z", "--functions", "--start-at", "--Function", "---function", "-"]
UNKNOWN_FLAGS += ["--steps=1=2", "--λ"]


def _bad_value(draw, option: str) -> list[str]:
    value = draw(st.sampled_from(BAD_VALUES[option]))
    return [option + value] if option.endswith("=") else [option, value]


def _drop(argv: list[str], option: str) -> list[str]:
    """argv without ``option`` and its value (either spelling)."""
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token == option:
            skip = True
        elif not token.startswith(option + "="):
            out.append(token)
    return out


@st.composite
def poisoned(draw, command: str, png: str) -> list[str]:
    if command == "trace":
        argv = list(draw(st.sampled_from(TRACE_BASES)))
        options = [*TRACE_OPTIONS, "--start="]
        required = ["--optimizer", "--start"]
    else:
        argv = [*BASIN_BASE, "--png", png]
        options = [*BASIN_OPTIONS, "--grid", "--view"]
        required = ["--optimizer", "--png"]
    dangling = None
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 4))
        if kind == 0:  # an option with a value that can never be right
            option = draw(st.sampled_from(options))
            if option in ("--function", "--expr"):  # also clashes with the other one
                argv = _drop(_drop(_drop(argv, "--function"), "--expr"), "--param")
            argv += _bad_value(draw, option)
        elif kind == 1:  # an unknown flag or a stray word, anywhere
            token = draw(st.sampled_from([*UNKNOWN_FLAGS, "extra", "1", "-1", "☃"]))
            argv.insert(draw(st.integers(0, len(argv))), token)
        elif kind == 2:  # an option left without its value (at the very end, see below)
            dangling = draw(st.sampled_from([*options[:-1], "--start", "--png"]))
        elif kind == 3:  # a required option left out
            argv = _drop(argv, draw(st.sampled_from(required)))
        elif "--expr" in argv:  # --function and --expr together
            argv += ["--function", "booth"]
        else:
            argv += ["--expr", "x^2"]
    if dangling is not None:  # last, so that no later insertion can become its value
        argv.append(dangling)
    return [command, *argv]


@budget(ci=250, deep=10_000)
@given(data=st.data())
def test_poisoned_trace_and_basin_commands_exit_2(scratch: Path, data) -> None:
    command = data.draw(st.sampled_from(["trace", "basin"]), label="command")
    png = data.draw(
        st.sampled_from(
            [
                str(scratch / "out" / "map.png"),
                str(scratch / "out"),  # a folder
                str(scratch / "no" / "such" / "map.png"),
                str(scratch / "a-file.txt" / "map.png"),  # "folder" is a file
                "",
            ]
        ),
        label="png",
    )
    argv = data.draw(poisoned(command, png), label="argv")
    assert_one_line_refusal(*call(cli_main, argv, scratch), argv)
    assert not (scratch / "out" / "map.png").exists()


# no --png: a soup can then never be a valid (and slow) basin map
_SOUP = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            *UNKNOWN_FLAGS,
            *BAD_VALUES["--start="],
            *["--start", "--steps", "--grid", "--function", "--expr", "--optimizer", "--set"],
            *["--tol", "--format", "--view", "3", "x^2", "lr=0.1", "json"],
            *objective_names()[:4],
            *optimizer_names()[:4],
        ]
    ),
)


def _could_mean_help_or_list(token: str, command: str) -> bool:
    """argparse accepts unambiguous prefixes: --h, --list-f, ... would be valid requests."""
    flags = ["-h", "--help"] + (["--list-functions", "--list-optimizers"] * (command == "trace"))
    head = token.split("=", 1)[0]
    return head.startswith("-") and len(head) > 1 and any(f.startswith(head) for f in flags)


@budget(ci=250, deep=10_000)
@given(st.sampled_from(["trace", "basin"]), st.lists(_SOUP, max_size=10))
def test_token_soup_never_crashes(scratch: Path, command: str, tokens: list[str]) -> None:
    assume(not any(_could_mean_help_or_list(t, command) for t in tokens))
    argv = [command, *tokens]
    code, out, err = call(cli_main, argv, scratch)
    if code == 0:  # the soup happened to be a valid command: then it did its job quietly
        assert err == "" and out
    else:
        assert_one_line_refusal(code, out, err, argv)


@budget(ci=100, deep=5_000)
@given(st.lists(st.text(max_size=12), max_size=6))
def test_unknown_commands_exit_2(tokens: list[str]) -> None:
    assume(not tokens or tokens[0] not in ("trace", "basin"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main(tokens)
    assert_one_line_refusal(code, out.getvalue(), err.getvalue(), tokens)


# -- export (gui/export_cli.py): refused before any Qt work ----------------------------------------

EXPORT_BAD = {
    "--steps": ["0", "abc", "100001", "-5", "1.5", ""],
    "--frames": ["0", "1001", "x", "-1", ""],
    "--size": ["huge", "10x10", "5000x100", "800x", "x600", "0x0", "800x600x2", ""],
}


@st.composite
def poisoned_export(draw, scratch: Path) -> list[str]:
    out = scratch / "out"
    scene = str(scratch / "scene.json")
    argv = [scene, "--png", str(out / "race.png")]
    dangling = None
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            option = draw(st.sampled_from(list(EXPORT_BAD)))
            argv += [option, draw(st.sampled_from(EXPORT_BAD[option]))]
        elif kind == 1:  # a scene that cannot be used
            bad = draw(st.sampled_from(["missing.json", "garbage.json", "truncated.json"]))
            bad = draw(st.sampled_from([bad, "bad-field.json", "out", "a-file.txt/x.json"]))
            argv[0] = str(scratch / bad)
        elif kind == 2:  # outputs that cannot be written
            option = draw(st.sampled_from(["--png", "--gif"]))
            where = draw(st.sampled_from([str(out), str(scratch / "nope" / "x.gif"), ""]))
            argv += [option, where]
        elif kind == 3:
            argv += ["--gif", str(out / "same.png"), "--png", str(out / "same.png")]
        elif kind == 4:
            argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(UNKNOWN_FLAGS)))
        else:  # an option without its value, appended last (nothing can become its value)
            dangling = draw(st.sampled_from(["--png", "--gif", "--steps", "--size"]))
    if dangling is not None:
        argv.append(dangling)
    return argv


@budget(ci=150, deep=5_000)
@given(data=st.data())
def test_poisoned_export_commands_exit_2(scratch: Path, data) -> None:
    argv = data.draw(poisoned_export(scratch), label="argv")
    code, out, err = call(export_main, argv, scratch)
    assert_one_line_refusal(code, out, err, ["export", *argv])
    assert not any((scratch / "out").iterdir())


# -- the real thing: python main.py ... ------------------------------------------------------------


def _subprocess_cases(tmp: Path) -> list[list[str]]:
    scene = tmp / "scene.json"
    scene.write_text(
        json.dumps({"version": 1, "objective": {"name": "booth"}, "racers": [{"optimizer": "gd"}]})
    )
    garbage = tmp / "garbage.json"
    garbage.write_bytes(b"\xff\xfe{\x00\x00NaN" * 100)
    out = tmp / "out"
    out.mkdir()
    basin = ["basin", "--function", "himmelblau", "--optimizer", "gd", "--grid", "3"]
    trace = ["trace", "--function", "rosenbrock", "--optimizer", "gd", "--start=1,1"]
    return [
        ["trace"],
        ["trace", "--function"],
        [*trace, "--bogus"],
        [*trace, "--steps", "many"],
        [*trace, "--steps", "9" * 400],
        [*trace, "--tol", "nan"],
        [*trace, "--set", "lr=1e999"],
        [*trace, "--start=nan,inf"],
        ["trace", "--function", "", "--optimizer", "gd", "--start=1,1"],
        ["trace", "--function", "rosenbröck ☃", "--optimizer", "gd", "--start=1,1"],
        ["trace", "--expr", f"__import__('os').system('touch {out}/x')", "--optimizer", "gd"],
        ["trace", "--expr", "x" * 100_000, "--optimizer", "gd", "--start=1"],
        ["trace", "--expr", "exp(" * 1000 + "x" + ")" * 1000, "--optimizer", "gd", "--start=1"],
        [*basin, "--png", str(out)],  # a folder
        [*basin, "--png", str(tmp / "no" / "such" / "map.png")],
        [*basin, "--steps", "2", "--png", "/proc/descentlab-reliability.png"],  # unwritable
        [*basin, "--steps", "2", "--png", "/dev/full"],  # the disk is full
        ["basin", "--function", "quadratic_1d", "--optimizer", "gd", "--png", str(out / "m.png")],
        [*basin, "--view", "1,0,0,1", "--png", str(out / "m.png")],
        ["export"],
        ["export", "--bogus"],
        ["export", str(tmp)],  # the scene is a folder
        ["export", str(garbage), "--png", str(out / "x.png")],
        ["export", str(scene), "--png", str(out)],  # output is a folder
        ["export", str(scene), "--png", str(out / "x.png"), "--size", "1x1"],
        ["export", str(scene), "--gif", str(tmp / "no" / "x.gif")],
    ]


def _run_main(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_main_py_refuses_garbage_with_one_line(tmp_path: Path) -> None:
    cases = _subprocess_cases(tmp_path)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda argv: _run_main(argv, workdir), cases))
    for argv, proc in zip(cases, results):
        shown = [a if len(a) < 60 else a[:20] + "…" for a in argv]
        assert_one_line_refusal(proc.returncode, proc.stdout, proc.stderr, shown)
    assert list((tmp_path / "out").iterdir()) == []
    assert list(workdir.iterdir()) == []
    assert not os.path.exists("/proc/descentlab-reliability.png")
