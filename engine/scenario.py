"""The one scene format: a function, a view, a start, racers and overlays, as versioned JSON.

Lessons are scenes (resources/lessons/*.json) and the GUI's Open/Save use the same format.
Everything is validated before a :class:`Scenario` exists; a bad file raises
:class:`ScenarioError` naming the field, e.g. ``racers[2].params.lr: must be > 0 (got -1)``.

Schema, version 1 (a JSON object; keys not listed are refused; ``null`` = not given):

============  ============================  ==============================================
field         type                          rules (default)
============  ============================  ==============================================
version       integer                       required; 1 (higher: "written by a newer
                                            DescentLab")
title         string                        1–120 characters, one line ("Untitled scene")
explanation   string (HTML / Unicode)       2–4 sentences for the reader, ≤ 4000 chars ("")
objective     object                        required, see below
view          [[xmin, xmax], [ymin, ymax]]  one range per variable, min < max, |v| ≤ 1e6
              or [[xmin, xmax]] for 1-D     (null: the function's own domain)
start         [x, y] or [x]                 one finite number per variable, |v| ≤ 1e6
                                            (null: the GUI's default start)
racers        array of racer objects        at most 16, see below ([])
overlays      array of strings              each one of OVERLAYS, no repeats ([])
speed         number                        steps per second, 1–120, or 0 = as fast as
                                            possible (20)
max_steps     integer                       1–100000 (500)
look_at       string                        what to look at, ≤ 2000 chars ("")
lesson        integer                       lesson number 1–999 (null)
============  ============================  ==============================================

``objective`` is either ``{"kind": "builtin", "name": NAME, "params": {KEY: NUMBER}}`` (NAME
from engine.objectives, params checked against its ranges; "kind" may be left out here) or
``{"kind": "expression", "expression": TEXT, "domain": [[lo, hi], ...] | null, "dim": 1 | 2 |
null}`` (TEXT parsed by engine.expressions; dim forces the number of variables, e.g. 2 for
``x^2`` drawn as a valley).

A racer is ``{"optimizer": NAME, "params": {KEY: NUMBER | STRING}, "color": "#rrggbb" | null,
"label": TEXT | null, "enabled": true}``: NAME and params as in the optimizer registry
(engine.optimizers; unknown names and out-of-range values refused), label ≤ 40 characters.

Files are UTF-8 (a BOM is allowed), at most 1 MB, nested at most 32 deep, without NaN or Infinity
and without repeated keys. :func:`save_scenario` writes atomically (temp file + os.replace).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.objective import Objective
from engine.palette import is_hex_color

VERSION = 1
OVERLAYS = ("gradient", "step", "newton_model", "hessian", "rprop_box", "regime")
OBJECTIVE_KINDS = ("builtin", "expression")
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_RACERS = 16
MAX_TITLE, MAX_LABEL, MAX_EXPLANATION, MAX_LOOK_AT = 120, 40, 4000, 2000
MAX_SPEED = 120
MAX_STEPS = 100_000
MAX_LESSON = 999
MAX_COORD = 1e6
DEFAULT_TITLE = "Untitled scene"
DEFAULT_SPEED = 20.0
DEFAULT_MAX_STEPS = 500

TOP_KEYS = (
    "version",
    "title",
    "explanation",
    "objective",
    "view",
    "start",
    "racers",
    "overlays",
    "speed",
    "max_steps",
    "look_at",
    "lesson",
)
BUILTIN_KEYS = ("kind", "name", "params")
EXPRESSION_KEYS = ("kind", "expression", "domain", "dim")
RACER_KEYS = ("optimizer", "params", "color", "label", "enabled")


class ScenarioError(ValueError):
    """A scene that cannot be used; ``field`` is a JSON path ("" = the whole document)."""

    def __init__(self, field: str, message: str, source: str | None = None) -> None:
        self.field = field
        self.message = message
        self.source = source
        parts = [p for p in (source, field) if p]
        super().__init__(": ".join([*parts, message]))

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (e.g. across processes) with its fields
        return (type(self), (self.field, self.message, self.source))


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ObjectiveSpec:
    """Which function: a built-in by name with parameters, or a user expression."""

    kind: str  # "builtin" | "expression"
    name: str = ""
    params: Mapping[str, float] = field(default_factory=_frozen)
    expression: str = ""
    domain: tuple[tuple[float, float], ...] | None = None
    dim: int | None = None


@dataclass(frozen=True)
class RacerSpec:
    """One optimizer in the race, with its parameters (only those that differ from defaults)."""

    optimizer: str
    params: Mapping[str, Any] = field(default_factory=_frozen)
    color: str | None = None  # "#rrggbb" (lower case); None: the GUI picks one
    label: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Scenario:
    """A validated scene. Build it with scenario_from_dict / load_scenario, not by hand."""

    objective: ObjectiveSpec
    version: int = VERSION
    title: str = DEFAULT_TITLE
    explanation: str = ""
    view: tuple[tuple[float, float], ...] | None = None
    start: tuple[float, ...] | None = None
    racers: tuple[RacerSpec, ...] = ()
    overlays: tuple[str, ...] = ()
    speed: float = DEFAULT_SPEED
    max_steps: int = DEFAULT_MAX_STEPS
    look_at: str = ""
    lesson: int | None = None


# -- building objectives ---------------------------------------------------------------------------


def build_objective(spec: ObjectiveSpec) -> Objective:
    """The Objective a spec describes; bad names, parameters or expressions raise ValueError."""
    if spec.kind == "builtin":
        from engine.objectives import get_objective

        return get_objective(spec.name, **dict(spec.params))
    if spec.kind == "expression":
        from engine.expressions import objective_from_expression

        return objective_from_expression(spec.expression, domain=spec.domain, dim=spec.dim)
    raise ValueError(
        f"objective kind must be one of {', '.join(OBJECTIVE_KINDS)} (got {spec.kind!r})"
    )


# -- dict <-> Scenario -----------------------------------------------------------------------------


def scenario_to_dict(s: Scenario) -> dict[str, Any]:
    """A plain, JSON-ready dict (optional fields left out when not set)."""
    obj = s.objective
    if obj.kind == "builtin":
        objective: dict[str, Any] = {
            "kind": "builtin",
            "name": obj.name,
            "params": dict(obj.params),
        }
    else:
        objective = {"kind": "expression", "expression": obj.expression}
        if obj.domain is not None:
            objective["domain"] = [list(r) for r in obj.domain]
        if obj.dim is not None:
            objective["dim"] = obj.dim
    out: dict[str, Any] = {
        "version": s.version,
        "title": s.title,
        "explanation": s.explanation,
        "objective": objective,
    }
    if s.view is not None:
        out["view"] = [list(r) for r in s.view]
    if s.start is not None:
        out["start"] = list(s.start)
    racers = []
    for r in s.racers:
        item: dict[str, Any] = {"optimizer": r.optimizer, "params": dict(r.params)}
        if r.color is not None:
            item["color"] = r.color
        if r.label is not None:
            item["label"] = r.label
        item["enabled"] = r.enabled
        racers.append(item)
    out["racers"] = racers
    out["overlays"] = list(s.overlays)
    out["speed"] = s.speed
    out["max_steps"] = s.max_steps
    out["look_at"] = s.look_at
    if s.lesson is not None:
        out["lesson"] = s.lesson
    return out


def scenario_from_dict(data: Any, source: str | None = None) -> Scenario:
    """Validate parsed JSON completely and return the Scenario, or raise ScenarioError."""
    return _Validator(source).scenario(data)


class _BadConstant:
    """Stands in for a NaN/Infinity literal so that validation can name the field it sits in."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Object(dict):
    """A JSON object that remembers keys given more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicates = tuple(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


# json.dumps keeps these as they are, yet they break a line (str.splitlines, Qt labels)
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _quoted(text: str) -> str:
    """``text`` as a JSON string literal that stays on one line."""
    return json.dumps(text, ensure_ascii=False).translate(_LINE_BREAKS)


def _path(base: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{base}.{key}" if base else key
    return f"{base}[{_quoted(key)}]"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if isinstance(value, _BadConstant):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return _quoted(shown)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


class _Validator:
    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> ScenarioError:
        return ScenarioError(path, message, self.source)

    # -- primitives --------------------------------------------------------------------------
    def obj(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object {{...}} (got {_describe(value)})")
        dups = getattr(value, "duplicates", ())
        if dups:
            raise self.fail(_path(path, dups[0]), "given more than once")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            names = ", ".join(repr(k) for k in unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise self.fail(
                _path(path, unknown[0]),
                f"unknown key{'s' if len(unknown) > 1 else ''} {names} "
                f"(known: {', '.join(allowed)})",
            )
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, _BadConstant):
            raise self.fail(path, f"must be a finite number; {value.text} is not allowed")
        if not _is_number(value):
            raise self.fail(path, f"must be a number (got {_describe(value)})")
        if not math.isfinite(value):
            raise self.fail(path, f"must be a finite number (got {value!r})")
        return float(value)

    def integer(self, value: Any, path: str, lo: int, hi: int) -> int:
        if isinstance(value, _BadConstant) or not _is_number(value):
            raise self.fail(path, f"must be a whole number (got {_describe(value)})")
        if not isinstance(value, int):
            raise self.fail(
                path, f"must be a whole number, without a decimal point (got {value!r})"
            )
        if not lo <= value <= hi:
            raise self.fail(path, f"must be between {lo} and {hi} (got {value})")
        return value

    def text(self, value: Any, path: str, max_len: int, multiline: bool, empty: bool = True) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string (got {_describe(value)})")
        if not empty and not value.strip():
            raise self.fail(path, "must not be empty")
        if len(value) > max_len:
            raise self.fail(path, f"must be at most {max_len} characters (got {len(value)})")
        bad = (_CONTROL if multiline else _CONTROL_OR_NEWLINE).search(value)
        if bad:
            where = "control character" if multiline else "line break or control character"
            raise self.fail(path, f"contains a {where} (U+{ord(bad.group()):04X})")
        return value

    def array(self, value: Any, path: str, max_len: int) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list [...] (got {_describe(value)})")
        if len(value) > max_len:
            raise self.fail(path, f"at most {max_len} entries (got {len(value)})")
        return value

    def ranges(self, value: Any, path: str) -> tuple[tuple[float, float], ...]:
        items = self.array(value, path, 2)
        if not items:
            raise self.fail(path, "needs one [min, max] range per variable")
        out = []
        for i, item in enumerate(items):
            p = f"{path}[{i}]"
            pair = self.array(item, p, 2)
            if len(pair) != 2:
                raise self.fail(p, f"must be [min, max] (got {len(pair)} numbers)")
            lo = self.number(pair[0], f"{p}[0]")
            hi = self.number(pair[1], f"{p}[1]")
            if max(abs(lo), abs(hi)) > MAX_COORD:
                raise self.fail(p, f"must lie within ±{MAX_COORD:g}")
            if not lo < hi:
                raise self.fail(p, f"min must be less than max (got [{lo:g}, {hi:g}])")
            out.append((lo, hi))
        return tuple(out)

    # -- the scene ---------------------------------------------------------------------------
    def scenario(self, data: Any) -> Scenario:
        if not isinstance(data, dict):
            raise self.fail("", f"a scene must be a JSON object {{...}} (got {_describe(data)})")
        if "version" not in data:
            raise self.fail("version", "missing (is this a DescentLab scene file?)")
        version = data["version"]
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise self.fail(
                "version",
                f"this scene was written by a newer DescentLab (scene version {version}; "
                f"this one reads version {VERSION}); please update DescentLab",
            )
        version = self.integer(version, "version", VERSION, VERSION)
        self.obj(data, "", TOP_KEYS)
        if "objective" not in data:
            raise self.fail("objective", "missing: which function is this scene about?")

        spec, objective = self.objective(data["objective"], "objective")
        dim = objective.dim

        title = DEFAULT_TITLE
        if data.get("title") is not None:
            title = self.text(data["title"], "title", MAX_TITLE, multiline=False, empty=False)
        explanation = self.optional_text(data, "explanation", MAX_EXPLANATION)
        look_at = self.optional_text(data, "look_at", MAX_LOOK_AT)

        view = None
        if data.get("view") is not None:
            view = self.ranges(data["view"], "view")
            if len(view) != dim:
                raise self.fail(
                    "view", f"needs {dim} range(s) for this {dim}-D function (got {len(view)})"
                )
        start = None
        if data.get("start") is not None:
            items = self.array(data["start"], "start", 2)
            coords = tuple(self.number(v, f"start[{i}]") for i, v in enumerate(items))
            if len(coords) != dim:
                raise self.fail(
                    "start",
                    f"needs {dim} coordinate(s) for this {dim}-D function (got {len(coords)})",
                )
            for i, v in enumerate(coords):
                if abs(v) > MAX_COORD:
                    raise self.fail(f"start[{i}]", f"must lie within ±{MAX_COORD:g} (got {v:g})")
            start = coords

        racers: tuple[RacerSpec, ...] = ()
        if data.get("racers") is not None:
            items = self.array(data["racers"], "racers", MAX_RACERS)
            racers = tuple(self.racer(item, f"racers[{i}]") for i, item in enumerate(items))

        overlays: tuple[str, ...] = ()
        if data.get("overlays") is not None:
            items = self.array(data["overlays"], "overlays", len(OVERLAYS))
            seen: list[str] = []
            for i, item in enumerate(items):
                p = f"overlays[{i}]"
                if not isinstance(item, str):
                    raise self.fail(p, f"must be an overlay name (got {_describe(item)})")
                if item not in OVERLAYS:
                    raise self.fail(
                        p, f"unknown overlay {item!r}; choose from {', '.join(OVERLAYS)}"
                    )
                if item in seen:
                    raise self.fail(p, f"overlay {item!r} listed twice")
                seen.append(item)
            overlays = tuple(seen)

        speed = DEFAULT_SPEED
        if data.get("speed") is not None:
            speed = self.number(data["speed"], "speed")
            if speed != 0 and not 1 <= speed <= MAX_SPEED:
                raise self.fail(
                    "speed",
                    f"must be 1–{MAX_SPEED} steps per second, or 0 for as fast as possible "
                    f"(got {speed:g})",
                )
        max_steps = DEFAULT_MAX_STEPS
        if data.get("max_steps") is not None:
            max_steps = self.integer(data["max_steps"], "max_steps", 1, MAX_STEPS)
        lesson = None
        if data.get("lesson") is not None:
            lesson = self.integer(data["lesson"], "lesson", 1, MAX_LESSON)

        return Scenario(
            objective=spec,
            version=version,
            title=title,
            explanation=explanation,
            view=view,
            start=start,
            racers=racers,
            overlays=overlays,
            speed=speed,
            max_steps=max_steps,
            look_at=look_at,
            lesson=lesson,
        )

    def optional_text(self, data: dict[str, Any], key: str, max_len: int) -> str:
        if data.get(key) is None:
            return ""
        return self.text(data[key], key, max_len, multiline=True)

    def objective(self, value: Any, path: str) -> tuple[ObjectiveSpec, Objective]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be an object {{...}} (got {_describe(value)})")
        kind = value.get("kind", "builtin")
        if kind not in OBJECTIVE_KINDS:
            raise self.fail(
                _path(path, "kind"),
                f"must be one of {', '.join(OBJECTIVE_KINDS)} (got {_describe(kind)})",
            )
        if kind == "builtin":
            return self.builtin(value, path)
        return self.expression(value, path)

    def builtin(self, value: dict[str, Any], path: str) -> tuple[ObjectiveSpec, Objective]:
        from engine.objectives import get_objective, objective_entry, objective_names

        self.obj(value, path, BUILTIN_KEYS)
        name_path = _path(path, "name")
        if "name" not in value:
            raise self.fail(name_path, "missing: which built-in function?")
        name = value["name"]
        if not isinstance(name, str) or name not in objective_names():
            raise self.fail(
                name_path,
                f"unknown function {_describe(name)}; "
                f"choose one of: {', '.join(objective_names())}",
            )
        entry = objective_entry(name)
        known = {p.name: p for p in entry.params}
        params: dict[str, float] = {}
        params_path = _path(path, "params")
        raw = value.get("params")
        if raw is not None:
            allowed = tuple(known)
            if not isinstance(raw, dict):
                raise self.fail(params_path, f"must be an object {{...}} (got {_describe(raw)})")
            for key in raw:
                if key not in known:
                    raise self.fail(
                        _path(params_path, key),
                        f"{name} has no parameter {key!r} "
                        f"(parameters: {', '.join(allowed) or 'none'})",
                    )
            self.obj(raw, params_path, allowed)
            for key, v in raw.items():
                p = _path(params_path, key)
                number = self.number(v, p)
                spec = known[key]
                if not spec.low <= number <= spec.high:
                    raise self.fail(p, f"must be in [{spec.low:g}, {spec.high:g}] (got {number:g})")
                params[key] = number
        try:
            objective = get_objective(name, **params)
        except ValueError as exc:  # a family that refuses a combination of parameters
            raise self.fail(params_path, str(exc)) from None
        return ObjectiveSpec("builtin", name=name, params=_frozen(params)), objective

    def expression(self, value: dict[str, Any], path: str) -> tuple[ObjectiveSpec, Objective]:
        self.obj(value, path, EXPRESSION_KEYS)
        expr_path = _path(path, "expression")
        if "expression" not in value:
            raise self.fail(expr_path, 'missing: the formula, e.g. "x^2 + 3*y^2"')
        text = self.text(value["expression"], expr_path, 2000, multiline=False, empty=False)
        domain = None
        if value.get("domain") is not None:
            domain = self.ranges(value["domain"], _path(path, "domain"))
        dim = None
        if value.get("dim") is not None:
            dim = self.integer(value["dim"], _path(path, "dim"), 1, 2)
        if domain is not None and dim is not None and len(domain) != dim:
            raise self.fail(
                _path(path, "domain"), f"needs {dim} range(s) for dim {dim} (got {len(domain)})"
            )
        spec = ObjectiveSpec("expression", expression=text, domain=domain, dim=dim)
        try:
            from engine.expressions import ExpressionError
        except ImportError:  # pragma: no cover - the module ships with the engine
            raise self.fail(expr_path, "user expressions are not available") from None
        try:
            objective = build_objective(spec)
        except ExpressionError as exc:
            raise self.fail(expr_path, str(exc)) from None  # it already says "at column N"
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None
        if domain is not None and len(domain) != objective.dim:
            raise self.fail(
                _path(path, "domain"),
                f"needs {objective.dim} range(s) for this {objective.dim}-D function "
                f"(got {len(domain)})",
            )
        return spec, objective

    def racer(self, value: Any, path: str) -> RacerSpec:
        from engine.optimizers import OPTIMIZERS, make_optimizer

        self.obj(value, path, RACER_KEYS)
        opt_path = _path(path, "optimizer")
        if "optimizer" not in value:
            raise self.fail(opt_path, "missing: which optimizer?")
        name = value["optimizer"]
        if not isinstance(name, str) or name not in OPTIMIZERS:
            raise self.fail(
                opt_path,
                f"unknown optimizer {_describe(name)}; choose one of: {', '.join(OPTIMIZERS)}",
            )
        spec = OPTIMIZERS[name]
        known = {p.name: p for p in spec.params}
        params: dict[str, Any] = {}
        params_path = _path(path, "params")
        raw = value.get("params")
        if raw is not None:
            if not isinstance(raw, dict):
                raise self.fail(params_path, f"must be an object {{...}} (got {_describe(raw)})")
            for key in raw:
                if key not in known:
                    raise self.fail(
                        _path(params_path, key),
                        f"{name} has no parameter {key!r} "
                        f"(parameters: {', '.join(known) or 'none'})",
                    )
            self.obj(raw, params_path, tuple(known))
            for key, v in raw.items():
                p = _path(params_path, key)
                ps = known[key]
                if ps.kind == "choice":
                    if not isinstance(v, str):
                        raise self.fail(
                            p, f"must be one of {', '.join(ps.choices)} (got {_describe(v)})"
                        )
                elif ps.kind == "int":
                    self.integer(v, p, -(2**62), 2**62)
                else:
                    self.number(v, p)
                try:
                    params[key] = ps.validate(name, v)
                except ValueError as exc:
                    msg = str(exc).removeprefix(f"{name}: ").removeprefix(f"{key} ")
                    raise self.fail(p, msg) from None
            try:
                make_optimizer(name, **params)
            except ValueError as exc:
                raise self.fail(params_path, str(exc)) from None
        color = None
        if value.get("color") is not None:
            color = value["color"]
            if not is_hex_color(color):
                raise self.fail(
                    _path(path, "color"),
                    f'must be a colour "#rrggbb", e.g. "#1f77b4" (got {_describe(color)})',
                )
            color = color.lower()
        label = None
        if value.get("label") is not None:
            label = self.text(value["label"], _path(path, "label"), MAX_LABEL, multiline=False)
        enabled = True
        if value.get("enabled") is not None:
            enabled = value["enabled"]
            if not isinstance(enabled, bool):
                raise self.fail(
                    _path(path, "enabled"), f"must be true or false (got {_describe(enabled)})"
                )
        return RacerSpec(name, _frozen(params), color, label, enabled)


# -- files -----------------------------------------------------------------------------------------

# a string runs to its closing quote or, unterminated, to the end: linear time on any input
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\[\s\S]?)*(?:"|\Z)|[\[\]{}]')


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def _check_depth(text: str, source: str | None) -> None:
    """Refuse nesting deeper than MAX_DEPTH before the parser could recurse on it."""
    depth = 0
    for m in _STRING_OR_BRACKET.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _line_col(text, m.start())
                raise ScenarioError(
                    "",
                    f"nested more than {MAX_DEPTH} levels deep (line {line}, column {col})",
                    source,
                )
        elif ch in "]}":
            depth -= 1


def parse_scenario_text(text: str, source: str | None = None) -> Scenario:
    """Parse JSON text into a validated Scenario."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            "", f"too large ({len(text):,} characters; at most {MAX_FILE_BYTES:,})", source
        )
    _check_depth(text, source)
    try:
        data = json.loads(text, parse_constant=_BadConstant, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            "", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source
        ) from None
    except RecursionError:
        raise ScenarioError("", "nested too deeply", source) from None
    return scenario_from_dict(data, source)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scene file; every problem is a ScenarioError naming file and field."""
    source = Path(path).name
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError("", f"cannot read the file: {exc.strerror or exc}", source) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError("", f"file is larger than {MAX_FILE_BYTES:,} bytes", source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})", source
        ) from None
    return parse_scenario_text(text, source)


def scenario_to_json(s: Scenario) -> str:
    return json.dumps(scenario_to_dict(s), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _write_chunks(fh: Any, data: bytes, chunk: int = 65536) -> None:
    for i in range(0, len(data), chunk):
        fh.write(data[i : i + chunk])


def save_scenario(s: Scenario, path: str | os.PathLike[str]) -> None:
    """Validate ``s`` and write it atomically: a temp file in the same folder, then os.replace.

    If anything fails, the previous file at ``path`` is untouched and no temp file is left.
    """
    target = Path(path)
    checked = scenario_from_dict(scenario_to_dict(s), target.name)  # never write a bad scene
    data = scenario_to_json(checked).encode("utf-8")
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_chunks(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
