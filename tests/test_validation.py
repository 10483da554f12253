"""app/validation.decode_json: orjson reads bodies first, and every value it reads differently
from the standard library (integers past 64 bits, non-finite numbers, lone surrogates, deep
nesting) is decided exactly as before, by the standard library's parse and the same checks."""

from __future__ import annotations

import math

import pytest

from app.errors import BadUserInput
from app.validation import decode_json

ACCEPTED = [
    (b'{"a":1,"a":2}', {"a": 2}),
    (b"9223372036854775807", 2**63 - 1),
    (b"-9223372036854775808", -(2**63)),
    (b"1e19", 1e19),  # a float literal past 2^63 is a float, as before
    (b"-1e300", -1e300),
    (b"1.5e-400", 0.0),
    (b"-0", 0),
    (b'"\\ud83d\\ude00 \\u00e9 \\/"', "\U0001f600 \u00e9 /"),
    ('{"k": "é"}', {"k": "é"}),  # a GET parameter arrives as text
]

REFUSED = [
    (b"9223372036854775808", "64"),  # past int64, inside uint64: orjson reads an int
    (b"18446744073709551616", "64"),  # past uint64: orjson reads a float
    (b"-9223372036854775809", "64"),
    (b"1E400", "finite"),
    (b"NaN", "finite"),
    (b'"\\ud800"', "surrogate"),
    (b'{"a": "x\\u0000"}', "NUL"),
    (b"\xef\xbb\xbf{}", "not valid JSON"),
    (b'{"a": "\xff"}', "UTF-8"),
    (b"[" * 1100 + b"]" * 1100, "deep"),
    (b"[1,]", "not valid JSON"),
]


@pytest.mark.parametrize(("raw", "value"), ACCEPTED)
def test_accepted_values_read_as_the_standard_library_reads_them(
    raw: bytes | str, value: object
) -> None:
    decoded = decode_json(raw)
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, decoded) == math.copysign(1, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "says"), REFUSED)
def test_refused_values_are_refused_with_the_reason(raw: bytes, says: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        decode_json(raw, max_depth=64)
    assert says.lower() in caught.value.message.lower(), caught.value.message
