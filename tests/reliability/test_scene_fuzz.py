"""Scene files: anything that is not a valid scene is a ScenarioError naming the field, in one line.

Truncation at every byte, random bytes, byte mutations, wrong types and random JSON at every
field path, NaN/Infinity literals at every value, huge arrays, deep nesting, unknown and repeated
keys at every level, future versions: never any other exception, the message is one line and
``.field`` names the field (the field itself, the object that holds it, or a key inside it; ""
only for problems of the whole file). Saving that is interrupted anywhere between writing and
replacing leaves the old file whole, byte for byte.

tests/engine/test_scenario.py has ~50 hand-written malformed files with exact messages and the
failing-writer cases; this module sweeps every position and every path.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import scenario as sc
from engine.optimizers import optimizer_names
from engine.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario_text,
    save_scenario,
    scenario_from_dict,
)

DEEP = os.environ.get("DESCENTLAB_DEEP_FUZZ", "") not in ("", "0")
PROFILE = settings.get_profile("deep" if DEEP else "ci")
ROOT = Path(__file__).resolve().parents[2]


def budget(ci: int, deep: int) -> settings:
    return settings(PROFILE, max_examples=deep if DEEP else ci)


def builtin_scene() -> dict:
    """A valid scene that uses every top-level field and one racer per optimizer."""
    racers: list[dict] = [{"optimizer": name} for name in optimizer_names()]
    racers[0] = {
        "optimizer": "gd",
        "params": {"lr": 0.01, "schedule": "step", "step_size": 20, "gamma": 0.5},
        "color": "#1f77b4",
        "label": "GD — step schedule",
        "enabled": True,
    }
    racers[-1] = {"optimizer": "rprop", "params": {"variant": "irprop-"}, "enabled": False}
    return {
        "version": 1,
        "title": "Ridges and valleys (β₁ = 0.9)",
        "explanation": "Rosenbrock's valley is <b>easy</b> to find and slow to follow.",
        "objective": {"kind": "builtin", "name": "quadratic_2d", "params": {"lambda1": 2.0}},
        "view": [[-4.0, 4.0], [-3.5, 3.5]],
        "start": [-1.5, 2.25],
        "racers": racers[:6],
        "overlays": ["gradient", "step"],
        "speed": 30,
        "max_steps": 400,
        "look_at": "Watch the zig-zag.",
        "lesson": 3,
    }


def expression_scene() -> dict:
    return {
        "version": 1,
        "title": "A valley in x",
        "objective": {
            "kind": "expression",
            "expression": "(x - 1)^2/2",
            "domain": [[-2.0, 3.0]],
            "dim": 1,
        },
        "start": [2.5],
        "racers": [{"optimizer": "newton", "params": {"hessian_fix": "abs"}}],
    }


def dumped(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


# -- the checks ------------------------------------------------------------------------------------


_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}  # shown escaped


def fmt(path: tuple) -> str:
    """A JSON path in the validator's notation: racers[2].params.lr, objective["odd key"]."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        elif key.isidentifier() and key.isascii():
            out += f".{key}" if out else key
        else:
            out += f"[{json.dumps(key, ensure_ascii=False).translate(_LINE_BREAKS)}]"
    return out


def related(field: str, path: str) -> bool:
    """``field`` is ``path``, an ancestor of it, or inside it."""

    def inside(child: str, parent: str) -> bool:
        return child == parent or child.startswith((parent + ".", parent + "["))

    return bool(field) and (inside(field, path) or inside(path, field))


def check_error(exc: BaseException, path: str | None = None) -> ScenarioError:
    """A ScenarioError with a one-line message naming the field (``path``, if given)."""
    assert isinstance(exc, ScenarioError), f"{type(exc).__name__}: {exc}"
    text = str(exc)
    assert exc.message and isinstance(exc.field, str)
    assert "\n" not in text and "\r" not in text, text
    assert len(text.splitlines()) == 1, repr(text)
    assert "Traceback" not in text
    if path is not None:
        assert related(exc.field, path), (path, exc.field, text)
    return exc


def outcome(data: Any) -> Scenario | ScenarioError:
    try:
        return scenario_from_dict(data)
    except Exception as exc:  # anything else is a failure, reported by check_error
        return check_error(exc)


def text_outcome(text: str) -> Scenario | ScenarioError:
    try:
        return parse_scenario_text(text)
    except Exception as exc:
        return check_error(exc)


def leaves(data: Any, path: tuple = ()) -> list[tuple]:
    """Every path of ``data`` (objects, lists and values), the root excluded."""
    out = [path] if path else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += leaves(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += leaves(value, (*path, i))
    return out


def set_at(data: Any, path: tuple, value: Any) -> Any:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def get_at(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scenes")


def load_bytes(folder: Path, content: bytes, name: str = "scene.json") -> Scenario | ScenarioError:
    path = folder / name
    path.write_bytes(content)
    try:
        return load_scenario(path)
    except Exception as exc:
        error = check_error(exc)
        assert error.source == name
        return error


# -- truncation, random bytes, byte mutations ------------------------------------------------------


@pytest.mark.parametrize("make", [builtin_scene, expression_scene])
def test_truncation_at_every_byte_is_refused(scratch: Path, make) -> None:
    data = dumped(make()).encode("utf-8")
    step = 1 if DEEP or len(data) < 4000 else 3
    for cut in range(0, len(data), step):
        result = load_bytes(scratch, data[:cut])
        assert isinstance(result, ScenarioError), f"accepted a file cut at byte {cut}"
        assert result.field == "", (cut, str(result))  # the file, not a field, is broken
    assert isinstance(load_bytes(scratch, data), Scenario)


@budget(ci=300, deep=20_000)
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused(scratch: Path, content: bytes) -> None:
    load_bytes(scratch, content)


@budget(ci=200, deep=20_000)
@given(st.text(max_size=500))
def test_random_text_is_refused(text: str) -> None:
    text_outcome(text)


_VALID_BYTES = dumped(builtin_scene()).encode("utf-8")


@st.composite
def byte_mutations(draw) -> bytes:
    data = bytearray(_VALID_BYTES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            data[i] = draw(st.integers(0, 255))
        elif kind == 1:
            del data[i]
        elif kind == 2:
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif kind == 3:
            data[i:i] = draw(st.sampled_from([b"{", b"[", b"]", b"}", b'"', b",", b":", b"\\"]))
        else:
            data[i:i] = draw(st.sampled_from([b"NaN", b"-Infinity", b"1e999", b"null", b"9" * 30]))
    return bytes(data)


@budget(ci=500, deep=30_000)
@given(byte_mutations())
def test_mutated_bytes_are_refused_or_valid(scratch: Path, content: bytes) -> None:
    load_bytes(scratch, content)


# -- every field path ------------------------------------------------------------------------------

HOSTILE_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -0.0,
    "",
    "x",
    "line\nbreak",
    "\u2028",
    "😀" * 50,
    [],
    {},
    [[]],
    [1, 2, 3],
    {"a": 1},
    1e308,
    -1e308,
    10**30,
    2**63,
    -(2**63) - 1,
    1e-320,
]
_BUILTIN_PATHS = leaves(builtin_scene())


@pytest.mark.parametrize("path", _BUILTIN_PATHS, ids=[fmt(p) for p in _BUILTIN_PATHS])
def test_wrong_types_at_every_path_name_the_field(path: tuple) -> None:
    scene = builtin_scene()
    for value in HOSTILE_VALUES:
        result = outcome(set_at(scene, path, value))
        if isinstance(result, ScenarioError):
            check_error(result, fmt(path))


def test_wrong_types_in_an_expression_objective_name_the_field() -> None:
    scene = expression_scene()
    for path in leaves(scene["objective"], ("objective",)):
        for value in (None, True, 0, 1e308, "", "x\ny", [], {}, [[0, 1], [1, 0]], "😀"):
            result = outcome(set_at(scene, path, value))
            if isinstance(result, ScenarioError):
                check_error(result, fmt(path))


def json_values(max_leaves: int = 12) -> st.SearchStrategy:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30),
        st.sampled_from(optimizer_names() + list(sc.OVERLAYS) + ["builtin", "expression"]),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.text(max_size=10) | st.sampled_from(sc.TOP_KEYS), inner, max_size=4
            )
        ),
        max_leaves=max_leaves,
    )


@budget(ci=500, deep=30_000)
@given(st.sampled_from(_BUILTIN_PATHS), json_values())
def test_random_json_at_any_path_names_the_field(path: tuple, value: Any) -> None:
    result = outcome(set_at(builtin_scene(), path, value))
    if isinstance(result, ScenarioError):
        # a valid value may make a sibling wrong: racers[0].optimizer = "momentum" leaves
        # gd's racers[0].params.schedule without a meaning; then the sibling is named
        check_error(result)
        assert related(result.field, fmt(path)) or related(result.field, fmt(path[:-1])), (
            path,
            str(result),
        )


@budget(ci=200, deep=10_000)
@given(
    st.dictionaries(st.sampled_from(sc.TOP_KEYS) | st.text(max_size=8), json_values(), max_size=8)
)
def test_random_documents_are_refused_or_valid(document: dict) -> None:
    outcome(document)
    outcome({"version": 1, **document})
    outcome({"version": 1, "objective": {"name": "booth"}, **document})


def _number_paths(data: Any) -> list[tuple]:
    return [
        p
        for p in leaves(data)
        if not isinstance(get_at(data, p), (dict, list)) and not isinstance(get_at(data, p), bool)
    ]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_at_every_value_name_the_field(literal: str) -> None:
    scene = builtin_scene()
    marker = "__REPLACE_ME__"
    for path in _number_paths(scene):
        text = dumped(set_at(scene, path, marker)).replace(f'"{marker}"', literal)
        result = text_outcome(text)
        assert isinstance(result, ScenarioError), (path, literal)
        assert result.field == fmt(path) or related(result.field, fmt(path)), (path, str(result))
        if isinstance(get_at(scene, path), (int, float)):
            assert result.field == fmt(path) and literal in result.message, str(result)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("racers",), [{"optimizer": "gd"}] * 100_000, "racers"),
        (("start",), [0.0] * 100_000, "start"),
        (("view",), [[0, 1]] * 50_000, "view"),
        (("overlays",), ["gradient"] * 100_000, "overlays"),
        (("racers", 0, "params"), {f"k{i}": i for i in range(50_000)}, "racers[0].params.k0"),
        (("objective", "params"), {f"p{i}": 1 for i in range(50_000)}, "objective.params.p0"),
        (("title",), "t" * 200_000, "title"),
        (("explanation",), "e" * 500_000, "explanation"),
        (("racers", 0, "label"), "l" * 100_000, "racers[0].label"),
    ],
    ids=[
        *["racers", "start", "view", "overlays", "params", "objective-params", "title"],
        *["explanation", "label"],
    ],
)
def test_huge_values_are_refused_quickly(path: tuple, value: Any, field: str) -> None:
    import time

    text = dumped(set_at(builtin_scene(), path, value))
    start = time.perf_counter()
    result = text_outcome(text)
    assert time.perf_counter() - start < 2.0
    assert isinstance(result, ScenarioError)
    if len(text) > sc.MAX_FILE_BYTES:
        assert result.field == "" and "too large" in result.message
    else:
        assert result.field == field, str(result)


def test_files_too_large_are_refused_before_parsing(scratch: Path) -> None:
    big = b"[" + b"0," * (sc.MAX_FILE_BYTES // 2) + b"0]"
    result = load_bytes(scratch, big)
    assert isinstance(result, ScenarioError) and "larger than" in result.message
    for special in ("/dev/zero", "/dev/urandom", "/dev/null"):
        if os.path.exists(special):
            result = load_scenario_error(special)
            assert result.field == ""


def load_scenario_error(path: str | Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    return check_error(err.value)


def test_unreadable_paths_are_scenario_errors(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing.json", tmp_path / "a" / "b.json", Path("")):
        assert "cannot read" in load_scenario_error(path).message


_CONTAINERS = [p for p in leaves(builtin_scene()) if isinstance(get_at(builtin_scene(), p), list)]


@pytest.mark.parametrize("depth", [sc.MAX_DEPTH + 1, 1000, 200_000])
def test_deep_nesting_anywhere_is_refused(depth: int) -> None:
    scene = builtin_scene()
    marker = "__NEST__"
    for path in [("title",), ("start", 0), ("objective", "params", "lambda1"), *_CONTAINERS]:
        text = dumped(set_at(scene, path, marker))
        nested = text.replace(f'"{marker}"', "[" * depth + "]" * depth)
        result = text_outcome(nested)
        assert isinstance(result, ScenarioError), path
        if len(nested) > sc.MAX_FILE_BYTES:
            assert "too large" in result.message
        elif depth > sc.MAX_DEPTH:
            assert result.field == "" and "nested" in result.message, str(result)
    # brackets inside strings are text, not nesting
    assert isinstance(outcome(set_at(scene, ("look_at",), "[" * 1500)), Scenario)


_OBJECT_PATHS = [
    (),
    *(p for p in leaves(builtin_scene()) if isinstance(get_at(builtin_scene(), p), dict)),
]


@pytest.mark.parametrize("path", _OBJECT_PATHS, ids=[fmt(p) or "root" for p in _OBJECT_PATHS])
@pytest.mark.parametrize("key", ["colour", "__proto__", "", "a b", "line\nbreak", "ünï", "\u2028"])
def test_unknown_keys_at_every_level_are_named(path: tuple, key: str) -> None:
    scene = builtin_scene()
    target = get_at(scene, path)
    target[key] = 1
    result = outcome(scene)
    assert isinstance(result, ScenarioError)
    assert result.field == fmt((*path, key)), (result.field, str(result))


@pytest.mark.parametrize("path", _OBJECT_PATHS, ids=[fmt(p) or "root" for p in _OBJECT_PATHS])
def test_repeated_keys_at_every_level_are_named(path: tuple) -> None:
    scene = builtin_scene()
    target = get_at(scene, path)
    if not target:
        pytest.skip("empty object")
    key = next(iter(target))
    marker = "__DUP__"
    target[marker] = 0
    text = dumped(scene)
    text = text.replace(f'"{marker}": 0', f"{json.dumps(key)}: {json.dumps(target[key])}")
    result = text_outcome(text)
    assert isinstance(result, ScenarioError)
    assert result.field == fmt((*path, key)) and "more than once" in result.message, str(result)


@pytest.mark.parametrize(
    "version", [2, 3, 10**100, 1.0, 2.5, 0, -1, "1", "2", None, True, [], {}, 1e308]
)
def test_future_and_odd_versions_are_named(version: Any) -> None:
    scene = {**builtin_scene(), "version": version, "hologram": {"from": "the future"}}
    result = outcome(scene)
    assert isinstance(result, ScenarioError) and result.field == "version", str(result)
    if isinstance(version, int) and not isinstance(version, bool) and version > 1:
        assert "newer DescentLab" in result.message


# -- saving that is interrupted --------------------------------------------------------------------


def _saved(tmp_path: Path) -> tuple[Path, bytes, Scenario]:
    path = tmp_path / "scene.json"
    old = scenario_from_dict(builtin_scene())
    save_scenario(old, path)
    return path, path.read_bytes(), old


def _newer(old: Scenario) -> Scenario:
    return replace(old, title="A new title", max_steps=old.max_steps + 1)


class Crash(BaseException):
    """Stands for the process being stopped (not an Exception: nothing may swallow it)."""


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("os.replace", OSError(28, "No space left on device")),
        ("os.replace", KeyboardInterrupt()),
        ("os.replace", Crash()),
        ("os.fsync", OSError(5, "Input/output error")),
        ("os.chmod", PermissionError(1, "Operation not permitted")),
        ("os.fdopen", OSError(24, "Too many open files")),
        ("tempfile.mkstemp", OSError(28, "No space left on device")),
        ("engine.scenario._write_chunks", MemoryError()),
    ],
)
def test_interrupted_save_leaves_the_old_file_whole(tmp_path, monkeypatch, target, error) -> None:
    path, old_bytes, old = _saved(tmp_path)
    module, name = target.rsplit(".", 1)

    def fail(*args, **kwargs):
        raise error

    owner = {"os": os, "tempfile": tempfile, "engine.scenario": sc}[module]
    monkeypatch.setattr(owner, name, fail)
    with pytest.raises(type(error)):
        save_scenario(_newer(old), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["scene.json"]
    assert load_scenario(path) == old
    save_scenario(_newer(old), path)  # and the next save works
    assert load_scenario(path) == _newer(old)


@pytest.mark.parametrize("written", [0, 1, 100, 10_000])
def test_save_interrupted_after_some_bytes(tmp_path, monkeypatch, written: int) -> None:
    path, old_bytes, old = _saved(tmp_path)
    real_write = sc._write_chunks

    def partial(fh, data, chunk=65536):
        real_write(fh, data[:written])
        raise Crash

    monkeypatch.setattr(sc, "_write_chunks", partial)
    with pytest.raises(Crash):
        save_scenario(_newer(old), path)
    assert path.read_bytes() == old_bytes
    assert sorted(os.listdir(tmp_path)) == ["scene.json"]


_HARD_CRASH = """
import os, sys
from engine import scenario as sc
path = sys.argv[1]
old = sc.load_scenario(path)
os.replace = lambda *args: os._exit(9)  # the machine dies between write and replace
sc.save_scenario(sc.Scenario(**{**old.__dict__, "title": "never saved"}), path)
"""


def test_hard_crash_between_write_and_replace(tmp_path: Path) -> None:
    """A killed process cannot clean up: the old file stays whole; the one thing left behind
    is the hidden, complete temp file (``.scene.json.*.tmp``), which nothing ever reads."""
    path, old_bytes, old = _saved(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", _HARD_CRASH, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 9, proc.stderr
    assert path.read_bytes() == old_bytes
    assert load_scenario(path) == old
    leftovers = [p for p in tmp_path.iterdir() if p.name != "scene.json"]
    assert len(leftovers) <= 1
    for stray in leftovers:
        assert stray.name.startswith(".scene.json.") and stray.name.endswith(".tmp")
        assert json.loads(stray.read_text(encoding="utf-8"))["title"] == "never saved"
    save_scenario(_newer(old), path)
    assert load_scenario(path) == _newer(old)
