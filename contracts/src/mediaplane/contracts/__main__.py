"""`python -m mediaplane.contracts schemas --write|--check`."""

from __future__ import annotations

import argparse
import sys

from mediaplane.contracts.catalog import REGISTRY
from mediaplane.contracts.schema_files import check, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaplane.contracts")
    sub = parser.add_subparsers(dest="command", required=True)
    schemas = sub.add_parser("schemas", help="JSON Schemas and examples of every event version")
    mode = schemas.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--write", action="store_true", help="regenerate contracts/schemas and examples"
    )
    mode.add_argument("--check", action="store_true", help="fail when committed files drift")
    args = parser.parse_args(argv)

    if args.write:
        problems = write(REGISTRY)
        for problem in problems:
            print(f"BREAKING: {problem}", file=sys.stderr)
        if problems:
            print(
                "refused: a published version must not change; add a new version and an upcaster",
                file=sys.stderr,
            )
            return 1
        print(f"wrote schemas and examples for {len(REGISTRY.tags)} event versions")
        return 0
    report = check(REGISTRY)
    for line in report.drift + [f"BREAKING: {b}" for b in report.breaking]:
        print(line, file=sys.stderr)
    return 1 if report.drift else 0


if __name__ == "__main__":
    raise SystemExit(main())
