"""The scene format: round trips, 30-odd malformed files each naming its field, atomic saves."""

from __future__ import annotations

import copy
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import scenario as sc
from engine.scenario import (
    OVERLAYS,
    ObjectiveSpec,
    RacerSpec,
    Scenario,
    ScenarioError,
    build_objective,
    load_scenario,
    save_scenario,
    scenario_from_dict,
    scenario_to_dict,
)


def good_dict() -> dict:
    return {
        "version": 1,
        "title": "Four minima, one Newton",
        "explanation": (
            "Himmelblau's function has <b>four</b> equally deep minima. Newton's method jumps to "
            "the minimum of the local quadratic model — which may be a saddle. Where you start "
            "decides where you end."
        ),
        "objective": {"kind": "builtin", "name": "himmelblau", "params": {}},
        "view": [[-5.0, 5.0], [-5.0, 5.0]],
        "start": [0.5, -0.25],
        "racers": [
            {"optimizer": "newton", "params": {"lr": 1.0}, "color": "#ffffff", "label": "Newton"},
            {"optimizer": "gd", "params": {"lr": 0.01, "schedule": "step", "step_size": 20}},
            {"optimizer": "adam", "params": {"lr": 0.05, "beta1": 0.8}, "label": "Adam (β₁ 0.8)"},
            {"optimizer": "rprop", "params": {"variant": "irprop-"}, "enabled": False},
        ],
        "overlays": ["gradient", "newton_model"],
        "speed": 30,
        "max_steps": 400,
        "look_at": "Watch the white path near the saddle at (3.39, 0.07).",
        "lesson": 7,
    }


def write(tmp_path: Path, content: bytes | str, name: str = "scene.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def dumped(data: dict) -> str:
    return json.dumps(data, indent=2)


# -- round trips -----------------------------------------------------------------------------------


def test_dict_round_trip_gives_an_equal_scenario():
    s = scenario_from_dict(good_dict())
    assert scenario_from_dict(scenario_to_dict(s)) == s
    assert s.racers[0] == RacerSpec("newton", {"lr": 1.0}, "#ffffff", "Newton", True)
    assert s.racers[1].params["step_size"] == 20 and isinstance(
        s.racers[1].params["step_size"], int
    )
    assert s.view == ((-5.0, 5.0), (-5.0, 5.0)) and s.start == (0.5, -0.25)
    assert s.speed == 30 and s.lesson == 7 and not s.racers[3].enabled


def test_file_round_trip_gives_an_equal_scenario(tmp_path):
    s = scenario_from_dict(good_dict())
    path = tmp_path / "lesson.json"
    save_scenario(s, path)
    assert load_scenario(path) == s
    text = path.read_text(encoding="utf-8")
    assert json.loads(text)["version"] == 1
    assert "—" in text  # written as UTF-8, not \u escapes


def test_minimal_scene_gets_defaults():
    s = scenario_from_dict({"version": 1, "objective": {"name": "rosenbrock"}})
    assert s.title == sc.DEFAULT_TITLE and s.racers == () and s.overlays == ()
    assert s.view is None and s.start is None and s.speed == sc.DEFAULT_SPEED
    assert scenario_from_dict(scenario_to_dict(s)) == s


def test_one_dimensional_scene_and_builtin_params():
    s = scenario_from_dict(
        {
            "version": 1,
            "objective": {"kind": "builtin", "name": "quadratic_1d", "params": {"a": 4, "b": -2}},
            "view": [[-3, 3]],
            "start": [2.5],
            "racers": [{"optimizer": "gd", "params": {"lr": 0.45}}],
            "overlays": ["regime"],
            "speed": 0,
        }
    )
    assert s.objective.params == {"a": 4.0, "b": -2.0}
    obj = build_objective(s.objective)
    assert obj.dim == 1 and obj.params["a"] == 4.0
    assert s.speed == 0
    assert scenario_from_dict(scenario_to_dict(s)) == s


def test_colour_is_normalised_to_lower_case():
    d = good_dict()
    d["racers"][0]["color"] = "#1F77B4"
    assert scenario_from_dict(d).racers[0].color == "#1f77b4"


def test_expression_scene_round_trip(tmp_path):
    pytest.importorskip("sympy")
    d = good_dict()
    d["objective"] = {
        "kind": "expression",
        "expression": "(x^2 - 1)^2 + y^2",
        "domain": [[-2, 2], [-2, 2]],
    }
    s = scenario_from_dict(d)
    obj = build_objective(s.objective)
    assert obj.dim == 2 and obj.expression == "(x^2 - 1)^2 + y^2"
    save_scenario(s, tmp_path / "e.json")
    assert load_scenario(tmp_path / "e.json") == s


def test_expression_dimension_is_checked_against_start():
    pytest.importorskip("sympy")
    d = good_dict()
    d["objective"] = {"kind": "expression", "expression": "x^2 - 2*x"}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(d)
    assert err.value.field == "view"  # a 1-D function with a 2-D view


_finite = st.floats(-1e5, 1e5, allow_nan=False)
_chars = st.characters(blacklist_categories=("Cc", "Cs"))


@st.composite
def scenarios(draw):
    lo = draw(st.tuples(_finite, _finite))
    widths = draw(st.tuples(st.floats(0.5, 100), st.floats(0.5, 100)))
    racers = draw(
        st.lists(
            st.builds(
                RacerSpec,
                optimizer=st.sampled_from(["gd", "adam", "momentum"]),
                params=st.fixed_dictionaries({"lr": st.floats(1e-6, 10)}),
                color=st.none() | st.from_regex(r"#[0-9a-f]{6}", fullmatch=True),
                label=st.none() | st.text(_chars, max_size=40),
                enabled=st.booleans(),
            ),
            max_size=4,
        )
    )
    return Scenario(
        objective=ObjectiveSpec("builtin", "rosenbrock"),
        title=draw(st.text(_chars, min_size=1, max_size=60).filter(str.strip)),
        explanation=draw(st.text(max_size=200).filter(lambda t: not sc._CONTROL.search(t))),
        view=((lo[0], lo[0] + widths[0]), (lo[1], lo[1] + widths[1])),
        start=draw(st.none() | st.tuples(_finite, _finite)),
        racers=tuple(racers),
        overlays=tuple(draw(st.lists(st.sampled_from(OVERLAYS), unique=True))),
        speed=draw(st.sampled_from([0.0]) | st.floats(1, 120)),
        max_steps=draw(st.integers(1, 100_000)),
        lesson=draw(st.none() | st.integers(1, 999)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_any_valid_scenario_survives_json(s):
    text = sc.scenario_to_json(s)
    assert sc.parse_scenario_text(text) == s


# -- malformed files -------------------------------------------------------------------------------


def _mutated(edit) -> str:
    d = good_dict()
    edit(d)
    return dumped(d)


def _set(path: tuple, value):
    def edit(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _deep(n: int) -> str:
    d = good_dict()
    text = dumped(d)
    return text.replace('"look_at"', '"deep": ' + "[" * n + "]" * n + ', "look_at"', 1)


_RANDOM_BYTES = bytes((i * 193 + 71) % 256 for i in range(600))  # fixed, not valid UTF-8

MALFORMED = [
    # (id, file content, field, words that must appear in the message)
    ("truncated", dumped(good_dict())[:150], "", ["not valid JSON", "line", "column"]),
    ("random-bytes", _RANDOM_BYTES, "", ["UTF-8"]),
    ("empty-file", "", "", ["not valid JSON", "line 1"]),
    ("not-an-object", "[1, 2, 3]", "", ["JSON object"]),
    ("nan-start", dumped(good_dict()).replace("0.5,", "NaN,", 1), "start[0]", ["NaN"]),
    (
        "infinity-lr",
        _mutated(_set(("racers", 0, "params", "lr"), 1.0)).replace('"lr": 1.0', '"lr": Infinity'),
        "racers[0].params.lr",
        ["Infinity"],
    ),
    (
        "minus-infinity-speed",
        dumped(good_dict()).replace('"speed": 30', '"speed": -Infinity'),
        "speed",
        ["-Infinity"],
    ),
    (
        "huge-racers",
        _mutated(_set(("racers",), [{"optimizer": "gd"}] * 10_000)),
        "racers",
        ["at most 16"],
    ),
    ("huge-start", _mutated(_set(("start",), [0.0] * 50_000)), "start", ["at most 2"]),
    ("deep-nesting-10000", _deep(10_000), "", ["nested", "line"]),
    ("too-big", " " * (sc.MAX_FILE_BYTES + 10) + "{}", "", ["larger than"]),
    ("unknown-top-key", _mutated(_set(("colour",), "red")), "colour", ["unknown key", "known:"]),
    ("future-version", _mutated(_set(("version",), 2)), "version", ["newer DescentLab"]),
    ("missing-version", _mutated(lambda d: d.pop("version")), "version", ["missing"]),
    ("version-string", _mutated(_set(("version",), "1")), "version", ["whole number"]),
    ("version-zero", _mutated(_set(("version",), 0)), "version", ["between 1 and 1"]),
    (
        "unknown-optimizer",
        _mutated(_set(("racers", 1, "optimizer"), "sgd-turbo")),
        "racers[1].optimizer",
        ["unknown optimizer", "sgd-turbo"],
    ),
    (
        "unknown-parameter",
        _mutated(_set(("racers", 1, "params", "momentum"), 0.9)),
        "racers[1].params.momentum",
        ["no parameter"],
    ),
    ("lr-out-of-range", _mutated(_set(("racers", 2, "params", "lr"), -1)), None, None),
    (
        "lr-not-a-number",
        _mutated(_set(("racers", 0, "params", "lr"), "fast")),
        "racers[0].params.lr",
        ["number"],
    ),
    (
        "lr-bool",
        _mutated(_set(("racers", 0, "params", "lr"), True)),
        "racers[0].params.lr",
        ["number", "true"],
    ),
    (
        "bad-choice",
        _mutated(_set(("racers", 3, "params", "variant"), "rprop++")),
        "racers[3].params.variant",
        ["must be one of"],
    ),
    (
        "int-param-fraction",
        _mutated(_set(("racers", 1, "params", "step_size"), 2.5)),
        "racers[1].params.step_size",
        ["whole number"],
    ),
    ("bad-colour", _mutated(_set(("racers", 0, "color"), "red")), "racers[0].color", ["#rrggbb"]),
    ("bad-colour-short", _mutated(_set(("racers", 0, "color"), "#fff")), "racers[0].color", []),
    (
        "racer-unknown-key",
        _mutated(_set(("racers", 0, "colour"), "#ffffff")),
        "racers[0].colour",
        ["unknown key"],
    ),
    ("racer-not-object", _mutated(_set(("racers", 1), "gd")), "racers[1]", ["object"]),
    (
        "enabled-string",
        _mutated(_set(("racers", 0, "enabled"), "yes")),
        "racers[0].enabled",
        ["true or false"],
    ),
    (
        "label-too-long",
        _mutated(_set(("racers", 0, "label"), "x" * 41)),
        "racers[0].label",
        ["at most 40"],
    ),
    ("start-wrong-dimension", _mutated(_set(("start",), [1.0, 2.0, 3.0])), "start", ["at most 2"]),
    ("start-one-coordinate", _mutated(_set(("start",), [1.0])), "start", ["2 coordinate"]),
    ("start-string", _mutated(_set(("start",), "0,0")), "start", ["list"]),
    ("view-reversed", _mutated(_set(("view", 1), [5, -5])), "view[1]", ["less than"]),
    ("view-1d-for-2d", _mutated(_set(("view",), [[-1, 1]])), "view", ["2 range"]),
    (
        "unknown-overlay",
        _mutated(_set(("overlays",), ["gradient", "heatmap"])),
        "overlays[1]",
        ["unknown overlay", "heatmap"],
    ),
    ("repeated-overlay", _mutated(_set(("overlays",), ["step", "step"])), "overlays[1]", ["twice"]),
    (
        "unknown-function",
        _mutated(_set(("objective", "name"), "himmelblaw")),
        "objective.name",
        ["unknown function", "himmelblaw"],
    ),
    (
        "unknown-objective-kind",
        _mutated(_set(("objective", "kind"), "table")),
        "objective.kind",
        ["builtin"],
    ),
    (
        "objective-param-range",
        _mutated(_set(("objective",), {"name": "quadratic_2d", "params": {"lambda1": 5000}})),
        "objective.params.lambda1",
        ["must be in"],
    ),
    (
        "objective-unknown-param",
        _mutated(_set(("objective", "params"), {"a": 1})),
        "objective.params.a",
        ["no parameter"],
    ),
    ("missing-objective", _mutated(lambda d: d.pop("objective")), "objective", ["missing"]),
    ("title-number", _mutated(_set(("title",), 5)), "title", ["string"]),
    ("title-newline", _mutated(_set(("title",), "a\nb")), "title", ["line break"]),
    ("speed-too-fast", _mutated(_set(("speed",), 500)), "speed", ["1–120", "0"]),
    ("speed-half", _mutated(_set(("speed",), 0.5)), "speed", ["1–120"]),
    ("max-steps-fraction", _mutated(_set(("max_steps",), 1.5)), "max_steps", ["whole number"]),
    ("max-steps-huge", _mutated(_set(("max_steps",), 10**9)), "max_steps", ["between"]),
    ("lesson-zero", _mutated(_set(("lesson",), 0)), "lesson", ["between"]),
    (
        "duplicate-key",
        dumped(good_dict()).replace('"speed": 30', '"speed": 30, "speed": 40'),
        "speed",
        ["more than once"],
    ),
]


@pytest.mark.parametrize(
    ("content", "field", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_scene_is_rejected_naming_the_field(tmp_path, content, field, words):
    path = write(tmp_path, content)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    exc = err.value
    assert isinstance(exc, ValueError)
    assert exc.source == "scene.json"
    assert str(exc).startswith("scene.json: ")
    if field is None:  # the brief's own example, checked to the letter
        assert str(exc) == "scene.json: racers[2].params.lr: must be > 0 (got -1)"
        assert exc.field == "racers[2].params.lr"
        return
    assert exc.field == field, str(exc)
    if field:
        assert f": {field}: " in str(exc)
    for word in words:
        assert word in exc.message, exc.message


def test_there_are_more_than_twenty_malformed_cases():
    assert len(MALFORMED) > 20


def test_deep_nesting_just_below_the_limit_is_a_schema_error_not_a_crash():
    with pytest.raises(ScenarioError) as err:
        sc.parse_scenario_text(_deep(sc.MAX_DEPTH - 2))
    assert err.value.field == "deep"


def test_scenario_error_pickles_with_its_fields():
    import pickle

    err = ScenarioError("racers[0].color", "bad", "a.json")
    back = pickle.loads(pickle.dumps(err))
    assert (back.field, back.message, back.source, str(back)) == (
        "racers[0].color",
        "bad",
        "a.json",
        "a.json: racers[0].color: bad",
    )


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "nope.json")
    assert err.value.source == "nope.json" and "cannot read" in err.value.message


def test_expression_error_names_the_expression_field():
    pytest.importorskip("sympy")
    d = good_dict()
    d["objective"] = {"kind": "expression", "expression": "x^2 + import(y)"}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(d)
    assert err.value.field == "objective.expression"


def test_utf8_bom_is_accepted(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + dumped(good_dict()).encode())
    assert load_scenario(path) == scenario_from_dict(good_dict())


def test_from_dict_does_not_modify_its_input():
    d = good_dict()
    before = copy.deepcopy(d)
    scenario_from_dict(d)
    assert d == before


# -- atomic save -----------------------------------------------------------------------------------


def test_failed_write_leaves_the_old_file_intact_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "scene.json"
    old = scenario_from_dict(good_dict())
    save_scenario(old, path)
    old_bytes = path.read_bytes()

    def half_then_fail(fh, data, chunk=65536):
        fh.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sc, "_write_chunks", half_then_fail)
    new = replace(old, title="A different title")
    with pytest.raises(OSError, match="No space"):
        save_scenario(new, path)
    assert path.read_bytes() == old_bytes
    assert load_scenario(path) == old
    assert sorted(os.listdir(tmp_path)) == ["scene.json"]


def test_interrupt_mid_write_also_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "scene.json"
    old = scenario_from_dict(good_dict())
    save_scenario(old, path)

    def interrupted(fh, data, chunk=65536):
        fh.write(data[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(sc, "_write_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_scenario(replace(old, lesson=8), path)
    assert load_scenario(path) == old
    assert sorted(os.listdir(tmp_path)) == ["scene.json"]


def test_an_invalid_scenario_is_never_written(tmp_path):
    path = tmp_path / "scene.json"
    old = scenario_from_dict(good_dict())
    save_scenario(old, path)
    bad = replace(old, start=(math.nan, 0.0))
    with pytest.raises(ScenarioError) as err:
        save_scenario(bad, path)
    assert err.value.field == "start[0]"
    bad_racer = replace(old, racers=(RacerSpec("gd", {"lr": 0.0}),))
    with pytest.raises(ScenarioError, match=r"racers\[0\]\.params\.lr: must be > 0"):
        save_scenario(bad_racer, path)
    assert load_scenario(path) == old
    assert sorted(os.listdir(tmp_path)) == ["scene.json"]


def test_save_keeps_the_file_mode(tmp_path):
    path = tmp_path / "scene.json"
    s = scenario_from_dict(good_dict())
    save_scenario(s, path)
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    save_scenario(replace(s, lesson=2), path)
    assert path.stat().st_mode & 0o777 == 0o600
