"""An Authorization header fetched on first use and fetched once more when a call answers 401.

Product APIs (PKS, the BOSH director) take UAA tokens that expire, often after ten minutes,
while creating a cluster or following a deploy task takes longer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from provisioning.http import HttpFailure

T = TypeVar("T")


@dataclass
class RenewingAuthorization:
    """`fetch` returns a whole header value ("Bearer …", "Basic …"); `renewable` says whether a 401
    on a value may be cured by fetching again (a basic-auth password cannot)."""

    fetch: Callable[[], str]
    renewable: Callable[[str], bool] = lambda _value: True
    _value: str | None = field(default=None, repr=False)

    @property
    def value(self) -> str | None:
        """The header value held now, if any (for scrubbing it from errors)."""
        return self._value

    def header(self) -> str:
        if self._value is None:
            self._value = self.fetch()
        return self._value

    def call(self, send: Callable[[str], T]) -> T:
        """`send(header)`; on a 401 to a value fetched before this call, fetch a new one and send again once."""
        renewed = self._value is None
        while True:
            value = self.header()
            try:
                return send(value)
            except HttpFailure as exc:
                if exc.status != 401 or renewed or not self.renewable(value):
                    raise
                self._value, renewed = None, True
