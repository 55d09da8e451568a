"""The lessons (resources/lessons/*.json): they load, they follow the lecture, every racer runs, and
what each lesson's text says about its racers really happens from the lesson's own start.

Also: the resource-path resolver, and that a malformed lesson costs only itself.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from engine.analysis import analyse_quadratic, regime
from engine.lessons import LessonError, lesson_dir, lesson_files, load_lessons
from engine.objective import Objective
from engine.optimizers import make_optimizer
from engine.resource_paths import resource_dir, resource_path
from engine.run import Run, StepRecord
from engine.scenario import OVERLAYS, ObjectiveSpec, RacerSpec, Scenario, build_objective

FILES = lesson_files()
FIRST_LESSONS = 14
ALLOWED_TAGS = {"i", "b", "sub", "sup", "br"}


# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lesson_set():
    return load_lessons()


@pytest.fixture(scope="module")
def lessons(lesson_set) -> dict[int, Scenario]:
    return {scene.lesson: scene for scene in lesson_set.lessons}


@pytest.fixture(scope="module")
def objectives(lessons) -> dict[int, Objective]:
    """One objective per lesson, built once (expressions compile through sympy)."""
    return {n: build_objective(scene.objective) for n, scene in lessons.items()}


def racer(scene: Scenario, optimizer: str, label: str | None = None) -> RacerSpec:
    found = [
        r
        for r in scene.racers
        if r.optimizer == optimizer and (label is None or (r.label or "").startswith(label))
    ]
    assert len(found) == 1, f"lesson {scene.lesson}: {optimizer!r} {label!r} matches {found}"
    return found[0]


def run(objective: Objective, spec: RacerSpec, start, steps: int) -> list[StepRecord]:
    """Every record of one racer's run from ``start`` (at most ``steps`` updates)."""
    r = Run(objective, make_optimizer(spec.optimizer, **dict(spec.params)), [start], steps)
    return [r.first, *r]


def path(records: list[StepRecord]) -> np.ndarray:
    return np.array([rec.x[0] for rec in records])


def losses(records: list[StepRecord]) -> np.ndarray:
    return np.array([rec.f[0] for rec in records])


def lesson_run(lessons, objectives, number: int, spec: RacerSpec, steps: int | None = None):
    scene = lessons[number]
    return run(objectives[number], spec, scene.start, steps or scene.max_steps)


def minimum(objective: Objective) -> np.ndarray:
    points = [p.point for p in objective.stationary if p.kind == "minimum"]
    assert len(points) == 1
    return np.array(points[0])


def hessian_at(objective: Objective, x) -> np.ndarray:
    return objective.hess(np.atleast_2d(np.asarray(x, float)))[0]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)


def html_parts(text: str) -> tuple[set[str], str]:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser.tags, "".join(parser.text)


def sentences(text: str) -> int:
    return len(re.findall(r"[.!?](?=\s|$)", text.strip()))


# -- resource paths --------------------------------------------------------------------------------


def test_resource_path_points_at_the_shipped_lessons():
    folder = resource_path("lessons")
    assert folder.is_dir()
    assert folder == resource_dir() / "lessons" == lesson_dir()
    assert resource_dir().name == "resources"
    assert resource_path("lessons", FILES[0].name).is_file()


@pytest.mark.parametrize("bad", [("..", "pyproject.toml"), ("lessons/../../main.py",), ("/etc",)])
def test_resource_path_refuses_to_leave_resources(bad):
    with pytest.raises(ValueError, match="inside resources"):
        resource_path(*bad)


def test_resource_dir_in_a_pyinstaller_bundle(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_dir() == tmp_path.resolve() / "resources"
    assert resource_path("lessons", "01.json") == tmp_path.resolve() / "resources/lessons/01.json"


# -- the files -------------------------------------------------------------------------------------


def test_every_lesson_file_loads(lesson_set):
    assert lesson_set.errors == ()
    assert len(FILES) >= FIRST_LESSONS
    assert len(lesson_set.lessons) == len(FILES)
    assert [p.name for p in lesson_set.paths] == [p.name for p in FILES]


def test_numbers_run_from_1_without_gaps_in_file_order(lesson_set):
    numbers = [scene.lesson for scene in lesson_set.lessons]
    assert numbers == list(range(1, len(numbers) + 1))
    for scene, file in zip(lesson_set.lessons, lesson_set.paths):
        assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.json", file.name)
        assert int(file.name[:2]) == scene.lesson


def test_lessons_follow_the_lecture(lessons):
    def builtin(n):
        return lessons[n].objective.name if lessons[n].objective.kind == "builtin" else None

    def param(n, key):
        return lessons[n].objective.params.get(key, 0.0)

    def optimizers(n):
        return {r.optimizer for r in lessons[n].racers}

    for n in (1, 2, 3, 4):  # slides 44–46: the scalar quadratic and the three regimes
        assert builtin(n) == "quadratic_1d"
        assert optimizers(n) >= {"gd"}
    lr = {n: racer(lessons[n], "gd").params["lr"] for n in (1, 2, 3, 4)}
    a = {n: param(n, "a") for n in (1, 2, 3, 4)}
    assert [regime(lr[n], a[n]) for n in (1, 2, 3, 4)] == [
        "monotone",
        "one-step",
        "oscillating",
        "divergent",
    ]
    assert lessons[5].objective.kind == "expression"  # slide 47: a generic convex function
    assert builtin(6) == builtin(7) == "quadratic_2d" == builtin(8)  # slides 48–70
    assert param(6, "theta") == 0 == param(7, "theta")
    assert param(8, "theta") % 90 != 0
    assert optimizers(9) >= {"newton"} and "newton_model" in lessons[9].overlays  # 86–96
    assert {r.params.get("hessian_fix", "none") for r in lessons[10].racers} == {
        "none",
        "abs",
        "damped",
    }
    assert "hessian" in lessons[10].overlays  # 97–99
    assert builtin(11) == "rosenbrock" and optimizers(11) >= {"bfgs", "lbfgs", "gd", "newton"}
    assert lessons[11].start == (-1.2, 1.0)  # slide 100
    schedules = {r.params.get("schedule", "constant") for r in lessons[12].racers}
    assert schedules & {"exp", "inv_time", "step"} and "constant" in schedules  # 102–103
    assert racer(lessons[13], "rprop").params.get("variant", "seed") == "seed"  # 112–119
    assert "rprop_box" in lessons[13].overlays
    assert builtin(14) == "himmelblau" and optimizers(14) >= {"gd", "newton", "rprop"}


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_scene_is_complete_and_readable(file, lesson_set):
    scene = lesson_set.lessons[[p.name for p in lesson_set.paths].index(file.name)]
    assert scene.title and scene.title != "Untitled scene"
    assert "<" not in scene.title  # shown as plain text
    for text, lo, hi in ((scene.explanation, 2, 4), (scene.look_at, 1, 2)):
        tags, plain = html_parts(text)
        assert tags <= ALLOWED_TAGS, tags
        assert lo <= sentences(plain) <= hi, plain
        assert "  " not in plain
    assert scene.view is not None and scene.start is not None
    assert all(lo < s < hi for s, (lo, hi) in zip(scene.start, scene.view))
    assert scene.racers and scene.overlays
    assert set(scene.overlays) <= set(OVERLAYS)
    colors = [r.color for r in scene.racers]
    assert None not in colors and len(set(colors)) == len(colors)
    names = [r.optimizer for r in scene.racers]
    for r in scene.racers:
        if names.count(r.optimizer) > 1:  # shared optimizers are told apart by their labels
            assert r.label
    labels = [r.label for r in scene.racers if r.label]
    assert len(set(labels)) == len(labels)
    assert 1 <= scene.speed <= 30
    if len(scene.view) == 1:
        assert 2 <= scene.speed <= 8
    assert 10 <= scene.max_steps <= 2000


@pytest.mark.parametrize("number", range(1, len(FILES) + 1))
def test_every_racer_runs_50_steps_quietly(number, lessons, objectives):
    scene = lessons[number]
    for spec in scene.racers:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            records = run(objectives[number], spec, scene.start, 50)
        assert records[-1].iteration <= 50
        assert all(rec.status_name(0) != "failed" for rec in records), records[-1].messages
        assert np.all(np.isfinite(path(records))) and np.all(np.isfinite(losses(records)))


# -- what each lesson claims -----------------------------------------------------------------------


def test_lesson_1_monotone(lessons, objectives):
    w_star = minimum(objectives[1])
    records = lesson_run(lessons, objectives, 1, racer(lessons[1], "gd"))
    e = path(records)[:, 0] - w_star[0]
    moving = e[np.abs(e) > 1e-12]
    assert len(moving) > 10
    assert np.all(np.sign(moving) == np.sign(e[0]))  # always on the start's side
    assert np.all(np.diff(np.abs(moving)) < 0)  # ever closer
    assert records[-1].row_label() == "converged (minimum)"


def test_lesson_2_one_step(lessons, objectives):
    w_star = minimum(objectives[2])
    for spec in lessons[2].racers:
        records = lesson_run(lessons, objectives, 2, spec)
        assert abs(path(records)[1, 0] - w_star[0]) < 1e-12
        assert records[-1].iteration == 1 and records[-1].row_label() == "converged (minimum)"


def test_lesson_3_oscillates_and_shrinks(lessons, objectives):
    w_star = minimum(objectives[3])
    records = lesson_run(lessons, objectives, 3, racer(lessons[3], "gd"))
    e = path(records)[:, 0] - w_star[0]
    moving = e[np.abs(e) > 1e-9]
    assert len(moving) > 10
    assert np.all(np.sign(moving[1:]) == -np.sign(moving[:-1]))  # other side every time
    assert np.all(np.diff(np.abs(moving)) < 0)
    assert np.all(np.diff(losses(records)[:15]) < 0)  # and E still falls at every step
    assert records[-1].row_label() == "converged (minimum)"


def test_lesson_4_diverges(lessons, objectives):
    w_star = minimum(objectives[4])
    records = lesson_run(lessons, objectives, 4, racer(lessons[4], "gd"))
    e = path(records)[:, 0] - w_star[0]
    assert records[-1].status_name() == "diverged"
    assert np.all(np.sign(e[1:10]) == -np.sign(e[:9]))
    assert np.all(np.diff(np.abs(e[:-1])) > 0)


def test_lesson_5_eta_opt_changes_and_newton_adapts(lessons, objectives):
    scene, obj = lessons[5], objectives[5]
    (lo, hi), w_star = scene.view[0], minimum(obj)
    grid = np.linspace(lo, hi, 401)[:, None]
    curvature = obj.hess(grid)[:, 0, 0]
    assert np.all(curvature > 0)  # convex over the whole view
    assert lo < w_star[0] < hi
    assert curvature.max() > 4 * curvature.min()  # η_opt = 1/E'' really changes
    gd = lesson_run(lessons, objectives, 5, racer(scene, "gd"))
    newton = lesson_run(lessons, objectives, 5, racer(scene, "newton"))
    for records in (gd, newton):
        assert records[-1].row_label() == "converged (minimum)"
    assert newton[-1].iteration * 5 < gd[-1].iteration
    # "start it near either end of the view": the same η diverges there
    for edge in (lo, hi):
        far = run(obj, racer(scene, "gd"), [0.95 * edge], scene.max_steps)
        assert far[-1].status_name() == "diverged"


def test_lesson_6_uncoupled_coordinates(lessons, objectives):
    scene = lessons[6]
    lam2 = scene.objective.params["lambda2"]
    gd = lesson_run(lessons, objectives, 6, racer(scene, "gd"))
    assert racer(scene, "gd").params["lr"] == pytest.approx(1 / lam2)
    x = path(gd)
    assert abs(x[1, 1]) < 1e-12 < abs(x[1, 0])  # the stiff coordinate settles in one step
    assert np.all(np.abs(x[1:, 1]) < 1e-12)
    assert gd[-1].iteration > 50
    newton = lesson_run(lessons, objectives, 6, racer(scene, "newton"))
    assert newton[-1].iteration == 1 and np.allclose(path(newton)[1], 0.0, atol=1e-12)


def test_lesson_7_zigzag_versus_crawl(lessons, objectives):
    scene, obj = lessons[7], objectives[7]
    info = analyse_quadratic(hessian_at(obj, scene.start), 1.0)
    big, small = racer(scene, "gd", "GD, η just"), racer(scene, "gd", "GD, small")
    assert big.params["lr"] < info.eta_max_stable < 1.2 * big.params["lr"]
    zig = path(lesson_run(lessons, objectives, 7, big, 50))
    crawl = path(lesson_run(lessons, objectives, 7, small, 50))
    assert np.all(np.sign(zig[1:11, 1]) == -np.sign(zig[:10, 1]))  # stiff axis: zig-zag
    assert np.all(np.diff(crawl[:20, 1]) < 0) and np.all(crawl[:20, 1] > 0)  # no zig-zag
    assert np.linalg.norm(crawl[-1]) > 100 * np.linalg.norm(zig[-1])  # but far behind
    assert info.condition_number >= 10


def test_lesson_8_rotated_large_kappa(lessons, objectives):
    scene, obj = lessons[8], objectives[8]
    h = hessian_at(obj, scene.start)
    info = analyse_quadratic(h, racer(scene, "gd").params["lr"])
    assert info.condition_number >= 10 and abs(h[0, 1]) > 1  # coupled, ill-conditioned
    assert info.converges
    stiff = np.array(max(info.directions, key=lambda d: d.eigenvalue).direction)
    gd = lesson_run(lessons, objectives, 8, racer(scene, "gd"))
    across = path(gd)[:10] @ stiff
    assert np.all(np.sign(across[1:]) == -np.sign(across[:-1]))  # zig-zag across the valley
    assert gd[-1].row_label() == "converged (minimum)" and gd[-1].iteration > 100
    newton = lesson_run(lessons, objectives, 8, racer(scene, "newton"))
    assert newton[-1].iteration == 1
    # "stiffen the valley enough and the same η even diverges"
    lr = racer(scene, "gd").params["lr"]
    params = {**scene.objective.params, "lambda2": 2.2 / lr}
    stiffer = build_objective(ObjectiveSpec("builtin", name="quadratic_2d", params=params))
    assert run(stiffer, racer(scene, "gd"), scene.start, 2000)[-1].status_name() == "diverged"


def test_lesson_9_newton_lands_on_each_fitted_minimum(lessons, objectives):
    scene = lessons[9]
    newton = lesson_run(lessons, objectives, 9, racer(scene, "newton"))
    gd = lesson_run(lessons, objectives, 9, racer(scene, "gd"))
    w_star = minimum(objectives[9])
    assert newton[-1].row_label() == "converged (minimum)" and newton[-1].iteration <= 8
    assert np.allclose(path(newton)[-1], w_star, atol=1e-8)
    for rec in newton[1:]:
        assert np.allclose(rec.visible["model_min"][0], rec.x[0])  # η = 1: the model's minimum
    assert not np.allclose(newton[1].x[0], w_star, atol=1e-2)  # the first fit is only local
    assert gd[-1].row_label() == "converged (minimum)"
    assert gd[-1].iteration > 5 * newton[-1].iteration


def test_lesson_10_plain_newton_climbs_to_a_non_minimum(lessons, objectives):
    scene = lessons[10]
    h = hessian_at(objectives[10], scene.start)
    assert np.all(np.linalg.eigvalsh(h) < 0)  # near the central hump
    plain = lesson_run(lessons, objectives, 10, racer(scene, "newton", "Newton, plain"))
    assert plain[-1].status_name() == "converged"
    assert plain[-1].kind[0] == "maximum"
    assert losses(plain)[-1] > losses(plain)[0]  # uphill
    for label in ("Newton, |", "Newton, damped"):
        fixed = lesson_run(lessons, objectives, 10, racer(scene, "newton", label))
        assert fixed[-1].row_label() == "converged (minimum)"
        assert losses(fixed)[-1] < 1e-12
    damping = racer(scene, "newton", "Newton, damped").params["damping"]
    assert damping > -np.linalg.eigvalsh(h).min()  # H + d·I positive definite at the start


def test_lesson_11_quasi_newton_reaches_the_minimum(lessons, objectives):
    scene = lessons[11]
    for name, most in (("bfgs", 50), ("lbfgs", 50), ("newton", 10)):
        records = lesson_run(lessons, objectives, 11, racer(scene, name))
        assert records[-1].row_label() == "converged (minimum)", name
        assert records[-1].iteration <= most
        assert np.allclose(path(records)[-1], [1.0, 1.0], atol=1e-6)
    gd = lesson_run(lessons, objectives, 11, racer(scene, "gd"))
    assert gd[-1].status_name() == "max_steps" and losses(gd)[-1] > 0.1  # still crawling
    assert np.all(np.diff(losses(gd)) <= 0)  # a stable η: it never goes uphill


def test_lesson_12_decaying_eta_escapes_and_settles(lessons, objectives):
    scene, obj = lessons[12], objectives[12]
    small = lesson_run(lessons, objectives, 12, racer(scene, "gd", "GD, small"))
    const = lesson_run(lessons, objectives, 12, racer(scene, "gd", "GD, large constant"))
    decay = lesson_run(lessons, objectives, 12, racer(scene, "gd", "GD, large η decaying"))
    minima = sorted(
        (float(obj.value(np.array([p.point]))[0]), p.point[0])
        for p in obj.stationary
        if p.kind == "minimum"
    )
    (good_f, good_w), (poor_f, poor_w) = minima
    assert poor_f > good_f
    assert small[-1].row_label() == "converged (minimum)"
    assert path(small)[-1, 0] == pytest.approx(poor_w, abs=1e-6)  # stuck in the poor one
    assert decay[-1].row_label() == "converged (minimum)"
    assert path(decay)[-1, 0] == pytest.approx(good_w, abs=1e-6)
    assert losses(decay)[-1] < losses(small)[-1]
    assert const[-1].status_name() == "max_steps"  # never settles
    assert losses(const)[-1] > losses(decay)[-1] + 1e-3
    big = racer(scene, "gd", "GD, large constant").params["lr"]
    curv = {w: float(obj.hess(np.array([[w]]))[0, 0, 0]) for w in (good_w, poor_w)}
    assert big * curv[poor_w] > 2 and big * curv[good_w] > 2  # above 2η_opt at both
    assert racer(scene, "gd", "GD, small").params["lr"] * curv[poor_w] < 1


def test_lesson_13_rprop_beats_gd(lessons, objectives):
    scene, obj = lessons[13], objectives[13]
    rprop = lesson_run(lessons, objectives, 13, racer(scene, "rprop"))
    gd = lesson_run(lessons, objectives, 13, racer(scene, "gd"))
    info = analyse_quadratic(hessian_at(obj, scene.start), racer(scene, "gd").params["lr"])
    assert info.converges and info.condition_number >= 20
    assert losses(rprop)[-1] < losses(gd)[-1]
    assert losses(rprop)[50] < 1e-6 < losses(gd)[50]
    assert rprop[-1].row_label() == "converged (minimum)"
    flips = [rec.iteration for rec in rprop if rec.visible and rec.visible["returned"].any()]
    assert flips  # the lecture's return-and-shrink happened
    steps = np.array([rec.visible["step_sizes"][0] for rec in rprop[1:]])
    assert np.any(np.diff(steps[:, 0]) > 0) and np.any(np.diff(steps[:, 0]) < 0)


def test_lesson_14_race(lessons, objectives):
    scene = lessons[14]
    for spec in scene.racers:
        records = lesson_run(lessons, objectives, 14, spec)
        assert records[-1].status_name() == "converged", spec.optimizer
        expected = "saddle" if spec.optimizer == "newton" else "minimum"
        assert records[-1].kind[0] == expected, spec.optimizer


# -- loading: ordering, errors ---------------------------------------------------------------------


def _scene(number: int | None = None, **changes) -> dict:
    doc = json.loads(FILES[0].read_text(encoding="utf-8"))
    doc.pop("lesson", None)
    if number is not None:
        doc["lesson"] = number
    doc.update(changes)
    return doc


def _write(folder: Path, name: str, doc) -> None:
    text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False)
    (folder / name).write_text(text, encoding="utf-8")


def test_a_malformed_lesson_is_reported_and_the_others_still_load(tmp_path):
    shutil.copy(FILES[0], tmp_path / FILES[0].name)
    bad_racer = _scene(2)
    bad_racer["racers"][0]["params"]["lr"] = -1
    _write(tmp_path, "02-bad-racer.json", bad_racer)
    _write(tmp_path, "03-bad-overlay.json", _scene(3, overlays=["step", "glitter"]))
    _write(tmp_path, "04-not-json.json", '{"version": 1, "title": ')
    _write(
        tmp_path,
        "05-bad-expression.json",
        _scene(5, objective={"kind": "expression", "expression": "x +* 2"}, view=None, start=None),
    )
    _write(tmp_path, "06-bad-view.json", _scene(6, view=[[3, -3]]))
    _write(tmp_path, "notes.txt", "not a lesson")

    result = load_lessons(tmp_path)

    assert [scene.lesson for scene in result.lessons] == [1]
    assert [p.name for p in result.paths] == [FILES[0].name]
    found = {e.file: e for e in result.errors}
    assert set(found) == {
        "02-bad-racer.json",
        "03-bad-overlay.json",
        "04-not-json.json",
        "05-bad-expression.json",
        "06-bad-view.json",
    }
    assert found["02-bad-racer.json"].field == "racers[0].params.lr"
    assert found["03-bad-overlay.json"].field == "overlays[1]"
    assert "glitter" in found["03-bad-overlay.json"].message
    assert found["04-not-json.json"].field == ""
    assert "JSON" in found["04-not-json.json"].message
    assert found["05-bad-expression.json"].field == "objective.expression"
    assert found["06-bad-view.json"].field == "view[0]"
    for error in result.errors:
        assert isinstance(error, LessonError)
        assert str(error).startswith(f"{error.file}: {error.field}")
        assert error.message


def test_lessons_are_ordered_by_number_then_file_name(tmp_path):
    _write(tmp_path, "a-third.json", _scene(3))
    _write(tmp_path, "b-first.json", _scene(1))
    _write(tmp_path, "c-second-too.json", _scene(2))
    _write(tmp_path, "d-second.json", _scene(2))
    _write(tmp_path, "0-unnumbered.json", _scene(None))
    result = load_lessons(tmp_path)
    assert result.errors == ()
    assert [p.name for p in result.paths] == [
        "b-first.json",
        "c-second-too.json",
        "d-second.json",
        "a-third.json",
        "0-unnumbered.json",
    ]
    assert [s.lesson for s in result.lessons] == [1, 2, 2, 3, None]
    assert lesson_files(tmp_path) == sorted(tmp_path.glob("*.json"))


def test_a_missing_lesson_folder_is_an_error_not_a_crash(tmp_path):
    missing = tmp_path / "nowhere"
    assert lesson_files(missing) == []
    result = load_lessons(missing)
    assert result.lessons == ()
    assert len(result.errors) == 1 and "nowhere" in str(result.errors[0])
