"""DescentLab entry point: the app by default (optionally with a scene file to open), the headless
subcommands `trace`, `basin` and `export`, and `--self-test`."""

from __future__ import annotations

import sys

HEADLESS = {"trace", "basin"}
USAGE = (
    "usage: descentlab [SCENE.json] | descentlab --self-test | descentlab --startup-time | "
    "descentlab {trace,basin,export} --help"
)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in HEADLESS:
        from engine.cli import main as cli_main

        return cli_main(args)
    if args and args[0] == "export":  # headless, but draws with Qt (offscreen): imported lazily
        from gui.export_cli import main as export_main

        return export_main(args[1:])
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    flags = ("--self-test", "--startup-time")
    unknown = [a for a in args if not a.lower().endswith(".json") and a not in flags]
    if unknown:
        print(f"descentlab: error: unknown argument {unknown[0]!r} (see --help)", file=sys.stderr)
        return 2
    from gui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
