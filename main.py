"""DescentLab entry point: the app by default; headless subcommands; --self-test."""

from __future__ import annotations

import sys

HEADLESS = {"trace", "basin"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in HEADLESS:
        from engine.cli import main as cli_main

        return cli_main(args)
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
