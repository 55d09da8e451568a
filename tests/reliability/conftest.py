"""Budgets for the reliability suite ("never crash in front of a class").

Two hypothesis profiles, registered here and used explicitly by the test modules of this folder
(``settings(settings.get_profile(...), max_examples=...)``), never loaded as the global default,
so the other suites keep their own settings whatever order pytest collects them in:

- ``ci`` (the default): few examples per test, derandomized (the same cases on every run, so CI
  never flakes on a budget or a timing), no example database, no deadline.
- ``deep``: long random budgets with the example database on (failures are replayed first).
  Opt in with the environment variable ``DESCENTLAB_DEEP_FUZZ=1`` (works however pytest is
  started), or with ``--deep-fuzz`` when this folder is named on the command line, e.g.
  ``python -m pytest tests/reliability --deep-fuzz``.

Every test states its own example counts for both profiles (``budget(ci=..., deep=...)`` in each
module); docs/reliability.md lists them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

DEEP_ENV = "DESCENTLAB_DEEP_FUZZ"

_QUIET = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]

settings.register_profile(
    "ci",
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)
settings.register_profile(
    "deep",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)


def pytest_addoption(parser) -> None:
    # only seen when pytest is started on this folder (a conftest below the rootdir's test paths
    # is not an "initial" one otherwise); DESCENTLAB_DEEP_FUZZ=1 works everywhere
    parser.addoption(
        "--deep-fuzz",
        action="store_true",
        default=False,
        help="run the reliability fuzzers with the long 'deep' hypothesis budgets",
    )


def pytest_configure(config) -> None:
    if config.getoption("--deep-fuzz", default=False):
        os.environ[DEEP_ENV] = "1"  # read by the test modules when they are imported


def pytest_report_header(config) -> str:
    deep = os.environ.get(DEEP_ENV, "") not in ("", "0")
    return f"reliability fuzz profile: {'deep' if deep else 'ci'}"
