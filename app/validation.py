"""Input rules shared by GraphQL and REST."""

from __future__ import annotations

import re
from typing import Any

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
        if "\x00" in name:
            raise BadUserInput("property names must not contain a NUL character", field=field)
        _check_value(value, f"{field}.{name}", depth=0)
    return dict(raw)


def _check_value(value: Any, path: str, depth: int) -> None:
    if depth > 5:
        raise BadUserInput(f"{path} is nested too deeply (at most 5 levels)", field=path)
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise BadUserInput(f"{path} is longer than {MAX_STRING} characters", field=path)
        if "\x00" in value:
            raise BadUserInput(f"{path} contains a NUL character", field=path)
    elif isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in k:
                raise BadUserInput(f"{path} has a key with a NUL character", field=path)
            _check_value(v, f"{path}.{k}", depth + 1)
    elif isinstance(value, list):
        if len(value) > 1000:
            raise BadUserInput(f"{path} has more than 1000 items", field=path)
        for v in value:
            _check_value(v, path, depth + 1)
    elif isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise BadUserInput(f"{path} is not a finite number", field=path)


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE:
        raise BadUserInput(f"first must be between 0 and {MAX_PAGE}", field="first")
    return first


def display_name(object_key: str, primary: str, props: dict[str, Any]) -> str:
    if object_key == "contact":
        name = " ".join(
            str(props[k]).strip() for k in ("firstName", "lastName") if props.get(k)
        ).strip()
        return name or str(props.get("email") or "")
    value = props.get(primary)
    return "" if value is None else str(value)[:500]


def offset_page(skip: Any, limit: Any) -> tuple[int, int]:
    """`skip`/`limit` paging (REST, HighLevel style): skip >= 0, limit 1..MAX_PAGE."""
    offset = 0 if skip is None else skip
    size = DEFAULT_PAGE if limit is None else limit
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 10**9:
        raise BadUserInput("skip must be an integer from 0 to 1000000000", field="skip")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
        raise BadUserInput(f"limit must be an integer from 1 to {MAX_PAGE}", field="limit")
    return offset, size
