"""A privilege's proof is tried again while it fails, within PROOF_WITHIN (no cluster: the exec is
replaced by a scripted answer)."""

from __future__ import annotations

from typing import Any

import pytest

from checks.privileged import cases
from provisioning.model.privileges import Case


def scene(answers: list[bool], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[bool]]:
    """A scene whose proof answers `answers` in turn (then the last again); returns it and the answers given."""
    given: list[bool] = []

    def prove(_self: Any, _pod: str, _case: Case, _host_ip: str) -> bool:
        given.append(answers[min(len(given), len(answers) - 1)])
        return given[-1]

    monkeypatch.setattr(cases._Scene, "prove", prove)
    monkeypatch.setattr(cases, "PROOF_WITHIN", 3.0)
    fields: Any = None  # the proof is scripted: no tenancy, client or plan is used
    return cases._Scene(fields, fields, "t1-admin", "tenant-t1", fields, "compliant-1", "192.0.2.1", 5.0), given


def test_a_proof_that_fails_once_and_then_holds_proves_the_privilege(monkeypatch: pytest.MonkeyPatch) -> None:
    subject, given = scene([False, True], monkeypatch)
    assert subject.proves_within("hostport-1", Case.HOST_PORT, "192.0.2.1")
    assert given == [False, True]


def test_a_proof_that_never_holds_is_no_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    subject, given = scene([False], monkeypatch)
    assert not subject.proves_within("hostport-1", Case.HOST_PORT, "192.0.2.1")
    assert len(given) >= 2, "tried again within the deadline before concluding"
