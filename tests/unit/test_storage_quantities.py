"""Quota quantities as the storage quota check reads them (pure)."""

from __future__ import annotations

import pytest

from checks.storage.quota import quantity_bytes


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("2Gi", 2 * 2**30), ("5Gi", 5 * 2**30), ("16Mi", 16 * 2**20), ("500M", 500 * 10**6), ("1024", 1024)],
)
def test_whole_number_quantities_are_bytes(text: str, size: int) -> None:
    assert quantity_bytes(text) == size


@pytest.mark.parametrize("text", ["1.5Gi", "2gi", "", "Gi", "-1Gi"])
def test_other_quantities_are_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(ValueError, match="is not a whole-number quantity such as 2Gi"):
        quantity_bytes(text)
