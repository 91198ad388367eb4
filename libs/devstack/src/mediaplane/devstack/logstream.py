"""Every role's output on `just up`'s terminal, one prefix per role.

supervisord keeps each role's output in its own log file and sends it as
PROCESS_LOG events to this listener, which writes it line by line, prefixed
with the role's name, to its stderr: supervisord passes that on to its own
stdout (`stderr_logfile=/dev/stdout` in the config `platform.py` writes).

The protocol (supervisor's event listener protocol) is read in bytes: the
`len` header counts bytes, and a role may print any UTF-8.
"""

from __future__ import annotations

import sys
from typing import BinaryIO


def get_headers(line: str) -> dict[str, str]:
    """`name:value name:value ...`, as supervisor writes event headers."""
    return dict(token.split(":", 1) for token in line.split())


def _event(stdin: BinaryIO, stdout: BinaryIO) -> tuple[dict[str, str], bytes]:
    stdout.write(b"READY\n")
    stdout.flush()
    headers = get_headers(stdin.readline().decode("ascii"))
    return headers, stdin.read(int(headers["len"]))


def _done(stdout: BinaryIO) -> None:
    stdout.write(b"RESULT 2\nOK")
    stdout.flush()


def lines(pending: dict[str, str], name: str, text: str) -> list[str]:
    """Whole lines of `name`'s output so far; a trailing partial line waits in `pending`."""
    *complete, pending[name] = (pending.get(name, "") + text).split("\n")
    return complete


def main(width: int) -> None:
    stdin, stdout, out = sys.stdin.buffer, sys.stdout.buffer, sys.stderr
    pending: dict[str, str] = {}
    while True:
        headers, payload = _event(stdin, stdout)
        if headers["eventname"].startswith("PROCESS_LOG"):
            header, _, data = payload.partition(b"\n")
            name = get_headers(header.decode("ascii"))["processname"]
            for line in lines(pending, name, data.decode("utf-8", errors="replace")):
                out.write(f"{name:<{width}} | {line}\n")
            out.flush()
        _done(stdout)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
