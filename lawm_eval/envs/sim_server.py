"""The child side of a simulator process: ``python -m lawm_eval.envs.sim_server module:Class``.

Runs in the simulator's own Python environment (``lawm-eval env setup <name>``), where only the
standard library, numpy and the simulator are installed: it imports nothing of lawm-eval but
``wire`` and the backend module. It builds the backend class once, then answers requests from
stdin on stdout (``wire``) until ``close`` or the end of stdin. Anything the simulator prints goes
to stderr, so that it never corrupts the message stream. An exception in a backend method is
answered as an error (type and first line of the message) and the server keeps serving.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

from lawm_eval.envs import wire


def protocol_streams() -> tuple[Any, Any]:
    """Private binary streams for the messages; the process's own stdout then points at stderr and its
    stdin at /dev/null."""
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints (and C code writing to fd 1) go to stderr
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, sys.stdin.fileno())  # nothing the simulator reads (a stray pdb) can eat a request
    os.close(null)
    return requests, replies


def error_reply(exc: BaseException) -> dict[str, Any]:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return {"error": {"type": type(exc).__name__, "message": lines[0] if lines else ""}}


def serve(backend: Any, requests: Any, replies: Any) -> None:
    while True:
        try:
            message = wire.read_message(requests)
        except wire.StreamClosed:
            return
        except wire.WireError as exc:
            wire.write_message(replies, error_reply(exc))
            return
        op = message.get("op") if isinstance(message, dict) else None
        if op == "close":
            close = getattr(backend, "close", None)
            if callable(close):
                close()
            wire.write_message(replies, {"ok": None})
            return
        if op != "call":
            wire.write_message(replies, error_reply(ValueError(f"unknown op {op!r}")))
            continue
        method = message.get("method", "")
        target = getattr(backend, method, None) if not str(method).startswith("_") else None
        if not callable(target):
            wire.write_message(replies, error_reply(AttributeError(f"the backend has no method {method!r}")))
            continue
        try:
            result = target(**(message.get("kwargs") or {}))
            reply = {"ok": result}
            encoded = wire.encode(reply)
        except Exception as exc:  # noqa: BLE001 - every error goes back to the parent as one line
            traceback.print_exc(file=sys.stderr)
            encoded = wire.encode(error_reply(exc))
        replies.write(encoded)
        replies.flush()


def main(argv: list[str]) -> int:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it closes this process
    requests, replies = protocol_streams()
    if len(argv) != 1 or ":" not in argv[0]:
        wire.write_message(replies, error_reply(ValueError("usage: sim_server module:Class")))
        return 2
    module_name, class_name = argv[0].split(":", 1)
    try:
        backend = getattr(importlib.import_module(module_name), class_name)()
    except Exception as exc:  # noqa: BLE001 - the parent shows it as one line
        traceback.print_exc(file=sys.stderr)
        wire.write_message(replies, error_reply(exc))
        return 1
    wire.write_message(replies, {"ok": {"protocol": wire.PROTOCOL, "python": sys.version.split()[0],
                                        "executable": sys.executable}})
    serve(backend, requests, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
