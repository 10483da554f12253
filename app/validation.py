"""Input rules shared by GraphQL and REST."""

from __future__ import annotations

import decimal
import json
import math
import re
from typing import Any

import orjson

from app.errors import BadUserInput
from app.models import CUSTOM_PREFIX, STANDARD_OBJECTS

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_KEY = 64
MAX_LABEL = 100
MAX_DESCRIPTION = 2_000
MAX_STRING = 10_000
MAX_PROPERTIES = 200
MAX_PROPERTY_NAME = 100
MAX_PAGE = 500
DEFAULT_PAGE = 50
# Display names are shown in lists and searched; longer ones are cut (the property keeps all).
MAX_DISPLAY_NAME = 500
# A record's properties as JSON, after every merge (RELATA_MAX_RECORD_BYTES overrides it).
MAX_RECORD_BYTES = 256 * 1024


def normalize_object_key(raw: Any, *, field: str = "objectKey") -> str:
    """`contact` stays standard; `pet` and `custom_objects.pet` both name the custom object."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadUserInput(f"{field} is required", field=field)
    key = raw.strip().lower()
    if key in STANDARD_OBJECTS:
        return key
    bare = key.removeprefix(CUSTOM_PREFIX)
    if not _KEY_RE.match(bare) or len(bare) > MAX_KEY:
        raise BadUserInput(
            f"{field} {raw!r} is not a valid object key: use lowercase letters, digits and _,"
            f" starting with a letter, at most {MAX_KEY} characters",
            field=field,
        )
    return CUSTOM_PREFIX + bare


def custom_object_key(raw: Any) -> str:
    key = normalize_object_key(raw, field="key")
    if key in STANDARD_OBJECTS or key.removeprefix(CUSTOM_PREFIX) in STANDARD_OBJECTS:
        raise BadUserInput(f"key {raw!r} is reserved for a standard object", field="key")
    return key


def association_key(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadUserInput("key is required", field="key")
    key = raw.strip()
    if len(key) > MAX_KEY or not re.match(r"^[A-Za-z][A-Za-z0-9_.\-]*$", key):
        raise BadUserInput(
            f"key {raw!r} is not valid: letters, digits, _ . -, starting with a letter,"
            f" at most {MAX_KEY} characters",
            field="key",
        )
    return key


def text(raw: Any, field: str, *, required: bool, max_len: int = MAX_LABEL) -> str | None:
    if raw is None:
        if required:
            raise BadUserInput(f"{field} is required", field=field)
        return None
    if not isinstance(raw, str):
        raise BadUserInput(f"{field} must be a string", field=field)
    if "\x00" in raw:
        raise BadUserInput(f"{field} contains a NUL character", field=field)
    value = raw.strip()
    if not value:
        if required:
            raise BadUserInput(f"{field} must not be blank", field=field)
        return None
    if len(value) > max_len:
        raise BadUserInput(f"{field} is longer than {max_len} characters", field=field)
    return value


def required_text(raw: Any, field: str, *, max_len: int = MAX_LABEL) -> str:
    value = text(raw, field, required=True, max_len=max_len)
    assert value is not None
    return value


def properties(raw: Any, *, field: str = "properties") -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadUserInput(f"{field} must be a JSON object", field=field)
    if len(raw) > MAX_PROPERTIES:
        raise BadUserInput(f"{field} has more than {MAX_PROPERTIES} keys", field=field)
    for name, value in raw.items():
        if not name or len(name) > MAX_PROPERTY_NAME:
            raise BadUserInput(
                f"property names must be 1 to {MAX_PROPERTY_NAME} characters", field=field
            )
        problem = string_problem(name)
        if problem:
            raise BadUserInput(f"a property name {problem}", field=json_path(field, name))
        _check_value(value, json_path(field, name), depth=0)
    return dict(raw)


def _check_value(value: Any, path: str, depth: int) -> None:
    if depth > 5:
        raise BadUserInput(f"{path} is nested too deeply (at most 5 levels)", field=path)
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise BadUserInput(f"{path} is longer than {MAX_STRING} characters", field=path)
        _refuse(path, string_problem(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            problem = string_problem(k)
            if problem:
                raise BadUserInput(f"{path} has a key that {problem}", field=path)
            _check_value(v, json_path(path, k), depth + 1)
    elif isinstance(value, list):
        if len(value) > 1000:
            raise BadUserInput(f"{path} has more than 1000 items", field=path)
        for v in value:
            _check_value(v, path, depth + 1)
    elif isinstance(value, int | float):
        _refuse(path, number_problem(value))


def typed_properties(object_key: str, props: dict[str, Any]) -> None:
    """Properties a standard object reads as typed fields must make sense as that type: an
    opportunity's `monetaryValue` given as a string must not parse to NaN or infinity (the
    Float field could not show it)."""
    value = props.get("monetaryValue")
    if object_key != "opportunity" or not isinstance(value, str):
        return
    try:
        number = float(value)
    except ValueError:
        return  # not a number at all: the field reads null, the text is kept
    if not math.isfinite(number):
        raise BadUserInput(
            f"properties.monetaryValue {value[:40]!r} is not a finite number; send an amount"
            " such as 1250.5",
            field="properties.monetaryValue",
        )


# What every string and number from outside passes before anything reads it: GraphQL bodies,
# variables, GET parameters and document literals; REST bodies, query and path parameters.
# Postgres text and jsonb cannot hold NUL or lone UTF-16 surrogates (asyncpg cannot even encode
# the latter), jsonb numbers are written through orjson (64-bit integers) and JSON has no NaN.
MAX_JSON_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
# Longer digit strings are out of range anyway; not converting them avoids int()'s quadratic cost
# (and its 4,300-digit ValueError).
_MAX_INT_TEXT = len(str(INT64_MIN))
_OUT_OF_RANGE = INT64_MAX + 1


def string_problem(value: str) -> str | None:
    """Why this string cannot be accepted, or None."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which text cannot hold"
    return "contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not valid Unicode"


def number_problem(value: float) -> str | None:
    """Why this JSON number cannot be accepted, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return "is an integer outside the signed 64-bit range (-2^63 to 2^63-1)"
    if not math.isfinite(value):
        return "is not a finite number (NaN and infinity are not accepted)"
    return None


def integer_text(text: str) -> int:
    """An integer written in JSON or GraphQL, or a value out of range when it is too long."""
    return int(text) if len(text) <= _MAX_INT_TEXT else _OUT_OF_RANGE


def json_path(parent: str, key: str | int) -> str:
    """`parent.key` or `parent[3]`; characters a path cannot show are written as escapes."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    safe = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", key)
    return f"{parent}.{safe}" if parent else safe


def _refuse(path: str, problem: str | None) -> None:
    if problem is not None:
        raise BadUserInput(f"{path or 'the value'} {problem}", field=path)


def check_string(value: str, field: str) -> str:
    _refuse(field, string_problem(value))
    return value


def check_json(value: Any, *, path: str = "", max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse, naming its path, any key or value of a decoded JSON value that is a string
    with NUL or a lone surrogate, an integer outside 64 bits or a non-finite float, or that is
    nested more than `max_depth` objects and arrays deep."""
    # Every request body passes here: check without building paths, and build them (walking
    # again) only to name what is refused.
    if not _json_is_clean(value, max_depth):
        _refuse_json(value, path, max_depth)


def _json_is_clean(value: Any, max_depth: int, float_bound: float = math.inf) -> bool:
    """Whether `check_json` passes `value`; with a `float_bound`, also whether every float is
    strictly inside it."""
    unsafe = _UNSAFE.search
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            if unsafe(item):
                return False
        elif kind is dict:
            if depth >= max_depth:
                return False
            for key, child in item.items():
                if unsafe(key):
                    return False
                stack.append((child, depth + 1))
        elif kind is list:
            if depth >= max_depth:
                return False
            stack.extend((child, depth + 1) for child in item)
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return False
        elif kind is float and not (math.isfinite(item) and -float_bound < item < float_bound):
            return False
    return True


# orjson reads an integer past 64 bits as a float of at least 2^63: only the standard library's
# parse tells such a float from a float literal (see decode_json).
_ORJSON_EXACT = float(2**63)


def _refuse_json(value: Any, path: str, max_depth: int) -> None:
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            _refuse(where, string_problem(item))
        elif isinstance(item, int | float):
            _refuse(where, number_problem(item))
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise BadUserInput(
                    f"{where or 'the value'} is nested more than {max_depth} objects and arrays"
                    f" deep; the limit is {max_depth} (RELATA_MAX_JSON_DEPTH)",
                    field=where,
                    limit="jsonDepth",
                    maximum=max_depth,
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = string_problem(key)
                    if problem:
                        raise BadUserInput(
                            f"{where or 'the value'} has a key that {problem}",
                            field=json_path(where, key),
                        )
                    stack.append((child, json_path(where, key), depth + 1))
            else:
                stack.extend(
                    (child, json_path(where, i), depth + 1) for i, child in enumerate(item)
                )


def decode_json(
    raw: bytes | str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    path: str = "",
    what: str = "the request body",
) -> Any:
    """Parse JSON from outside: UTF-8 only, integers exact, then `check_json`. Every failure is
    a BadUserInput naming what was wrong (and where)."""
    try:
        # orjson first (5-10x faster); anything it refuses, and any value the checks would
        # refuse or that orjson may have read differently (_ORJSON_EXACT), is decided by the
        # standard library's parse below, whose messages say what is wrong.
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if _json_is_clean(value, max_depth, _ORJSON_EXACT):
            return value
    field = path or "body"
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadUserInput(
                f"{what} is not valid UTF-8 (byte {exc.start}); send JSON encoded as UTF-8",
                field=field,
            ) from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_int=integer_text)
    except RecursionError:
        # The decoder recurses per level: this deep is far past max_depth.
        raise BadUserInput(
            f"{what} is nested more than {max_depth} objects and arrays deep; the limit is"
            f" {max_depth} (RELATA_MAX_JSON_DEPTH)",
            field=field,
            limit="jsonDepth",
            maximum=max_depth,
        ) from None
    except json.JSONDecodeError as exc:
        raise BadUserInput(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            field=field,
        ) from None
    check_json(value, path=path, max_depth=max_depth)
    return value


def page_size(first: int | None, field: str = "first") -> int:
    """A connection's page size (`first`, or `last` backward): DEFAULT_PAGE when not given."""
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE:
        raise BadUserInput(f"{field} must be between 0 and {MAX_PAGE}", field=field)
    return first


def display_name(object_key: str, primary: str, props: dict[str, Any]) -> str:
    if object_key == "contact":
        name = " ".join(
            str(props[k]).strip() for k in ("firstName", "lastName") if props.get(k)
        ).strip()
        return (name or str(props.get("email") or ""))[:MAX_DISPLAY_NAME]
    return display_text(props.get(primary))[:MAX_DISPLAY_NAME]


def display_text(value: Any) -> str:
    """A property as a display name: the same text PostgreSQL gives for a jsonb string, number
    or boolean (db.records.recompute_display_names applies this rule in SQL), else empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)), "f")
    return ""


def offset_page(skip: Any, limit: Any) -> tuple[int, int]:
    """`skip`/`limit` paging (REST, HighLevel style): skip >= 0, limit 1..MAX_PAGE."""
    offset = 0 if skip is None else skip
    size = DEFAULT_PAGE if limit is None else limit
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 10**9:
        raise BadUserInput("skip must be an integer from 0 to 1000000000", field="skip")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
        raise BadUserInput(f"limit must be an integer from 1 to {MAX_PAGE}", field="limit")
    return offset, size


def record_size(props: dict[str, Any], max_bytes: int, *, field: str = "properties") -> None:
    """A record's properties, as stored (JSON), may not exceed `max_bytes`: checked on the
    merged result, so many small merges cannot grow a record without bound."""
    size = len(orjson.dumps(props))
    if size > max_bytes:
        raise BadUserInput(
            f"{field} would make the record {size} bytes as JSON; a record holds at most"
            f" {max_bytes} bytes of properties (RELATA_MAX_RECORD_BYTES). Remove or shorten"
            " properties (set a key to null to remove it).",
            field=field,
            limit="recordBytes",
            maximum=max_bytes,
            value=size,
        )
