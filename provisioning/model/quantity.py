"""Kubernetes quantities as exact numbers (pure): "500m", "2", "4Gi", "1e3"."""

from __future__ import annotations

import re
from fractions import Fraction

_SUFFIXES = {
    "": Fraction(1),
    "m": Fraction(1, 1000),
    "u": Fraction(1, 10**6),
    "n": Fraction(1, 10**9),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[munkMGTPE]))?$")


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity; ValueError if it is not one."""
    match = _QUANTITY.match(str(text).strip())
    if not match:
        raise ValueError(f'"{text}" is not a Kubernetes quantity')
    number, exponent, suffix = match.groups()
    value = Fraction(number)
    if exponent is not None:
        return value * Fraction(10) ** int(exponent)
    return value * _SUFFIXES[suffix or ""]


def same_quantity(a: str, b: str) -> bool:
    """Whether two Kubernetes quantities are the same amount ("1Gi" and "1024Mi", "500m" and "0.5"; the
    resource.Quantity format of the API reference); ValueError if either is no quantity."""
    return parse_quantity(a) == parse_quantity(b)
