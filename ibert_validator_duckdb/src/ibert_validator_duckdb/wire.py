"""What workers send back, as JSON rather than pickle.

The parent never unpickles anything a worker sends: a worker runs hostile code, and
unpickling is code execution. Verdicts travel as JSON (stages, required stages and
JSON-able artifacts), size-capped, and are rebuilt into attrs objects in the parent.
"""

from __future__ import annotations

import json
from typing import Any

from ibert_core.types import Stage, Verdict, to_jsonable

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class BadMessage(Exception):
    """A worker sent something that is not a well-formed message."""


def encode_ready(pid: int) -> bytes:
    return json.dumps({"ready": pid}).encode()


def encode_verdict(job_id: int, verdict: Verdict) -> bytes:
    data = {"job": job_id, "verdict": to_jsonable(verdict)}
    try:
        return json.dumps(data, default=str).encode()
    except (TypeError, ValueError) as err:  # artifacts that do not serialize
        data["verdict"]["artifacts"] = {"error": f"artifacts dropped: {err}"}
        return json.dumps(data, default=str).encode()


def _stage(data: Any) -> Stage:
    if not isinstance(data, dict):
        raise BadMessage("a stage is not an object")
    return Stage(
        str(data.get("name", "")),
        bool(data.get("ok", False)),
        str(data.get("message", "")),
        float(data.get("duration", 0.0)),
    )


def decode(raw: bytes) -> tuple[str, int] | tuple[int, Verdict]:
    """("ready", pid) or (job id, verdict); `BadMessage` for anything else."""
    try:
        data = json.loads(raw)
        if "ready" in data:
            return ("ready", int(data["ready"]))
        v = data["verdict"]
        artifacts = v.get("artifacts") or {}
        if not isinstance(artifacts, dict):
            raise BadMessage("artifacts are not an object")
        verdict = Verdict(
            tuple(_stage(s) for s in v["stages"]),
            tuple(str(r) for r in v["required"]),
            artifacts,
        )
        return (int(data["job"]), verdict)
    except BadMessage:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise BadMessage(f"malformed worker message: {err}") from err
