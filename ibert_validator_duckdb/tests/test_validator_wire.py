"""Worker → parent messages are JSON, never pickle, and malformed ones are refused."""

from __future__ import annotations

import pickle

import pytest

from ibert_core.types import Stage, Verdict
from ibert_validator_duckdb.wire import BadMessage, decode, encode_ready, encode_verdict


def test_verdict_round_trip():
    verdict = Verdict(
        (Stage("parse", True, "", 0.1), Stage("build", False, "no", 0.2)),
        ("parse", "build"),
        {"sql": "SELECT 1", "rows": [[1, "a"]]},
    )
    assert decode(encode_verdict(7, verdict)) == (7, verdict)
    assert decode(encode_ready(123)) == ("ready", 123)


class Boom:
    def __reduce__(self):
        return (print, ("pickle executed",))


@pytest.mark.parametrize(
    "raw",
    [
        pickle.dumps(Boom()),
        b"{}",
        b'{"job": 1}',
        b'{"job": 1, "verdict": {"stages": [1]}}',
        b'{"job": "x", "verdict": {"stages": [], "required": [], "artifacts": []}}',
        b"\xff",
    ],
)
def test_malformed_messages_are_refused(raw, capsys):
    with pytest.raises(BadMessage):
        decode(raw)
    assert "pickle executed" not in capsys.readouterr().out


def test_unserializable_artifacts_are_dropped_not_fatal():
    verdict = Verdict((Stage("parse", True),), ("parse",), {"bad": float("nan")})
    job, back = decode(encode_verdict(1, verdict))
    assert job == 1 and back.stages == verdict.stages
