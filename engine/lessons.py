"""The lecture as data: every ``resources/lessons/*.json`` is one scene (engine.scenario format).

:func:`load_lessons` reads them all. Lessons come back ordered by their ``lesson`` number, then
by file name (a scene without a number goes after the numbered ones). A malformed file never
stops the others: it is reported as a :class:`LessonError` naming the file, the failing field
(a JSON path such as ``racers[0].params.lr``; "" = the whole file) and the reason. Adding a
lesson is adding a file; no code changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.resource_paths import resource_path
from engine.scenario import Scenario, ScenarioError, load_scenario

LESSON_DIR = "lessons"
LESSON_SUFFIX = ".json"


@dataclass(frozen=True)
class LessonError:
    """A lesson file that could not be used."""

    file: str  # the file name, e.g. "04-divergence.json"
    field: str  # JSON path of the failing field; "" = the file as a whole
    message: str

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.field, self.message) if p)


@dataclass(frozen=True)
class LessonSet:
    """The lessons that loaded (in lecture order) and the files that did not."""

    lessons: tuple[Scenario, ...] = ()
    errors: tuple[LessonError, ...] = ()
    paths: tuple[Path, ...] = ()  # paths[i] is the file lessons[i] was read from

    def __len__(self) -> int:
        return len(self.lessons)


def lesson_dir() -> Path:
    """The folder the lessons ship in (source checkout or bundle)."""
    return resource_path(LESSON_DIR)


def lesson_files(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """The ``*.json`` files in ``directory`` (default: the shipped lessons), sorted by name.

    A missing or unreadable folder has no lesson files.
    """
    folder = Path(directory) if directory is not None else lesson_dir()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    return sorted(
        (p for p in entries if p.suffix.lower() == LESSON_SUFFIX and p.is_file()),
        key=lambda p: p.name,
    )


def load_lessons(directory: str | os.PathLike[str] | None = None) -> LessonSet:
    """Load and validate every lesson file; bad files are reported, the others still load."""
    folder = Path(directory) if directory is not None else lesson_dir()
    if not folder.is_dir():
        return LessonSet(errors=(LessonError(folder.name, "", f"no lesson folder at {folder}"),))
    loaded: list[tuple[Scenario, Path]] = []
    errors: list[LessonError] = []
    for path in lesson_files(folder):
        try:
            scene = load_scenario(path)
        except ScenarioError as exc:
            errors.append(LessonError(path.name, exc.field, exc.message))
        except Exception as exc:  # a bug elsewhere must cost one lesson, not the whole list
            errors.append(
                LessonError(path.name, "", f"could not load ({type(exc).__name__}: {exc})")
            )
        else:
            loaded.append((scene, path))
    loaded.sort(key=_order)
    return LessonSet(
        lessons=tuple(scene for scene, _ in loaded),
        errors=tuple(errors),
        paths=tuple(path for _, path in loaded),
    )


def _order(item: tuple[Scenario, Path]) -> tuple[bool, int, str]:
    scene, path = item
    return (scene.lesson is None, scene.lesson or 0, path.name)
