"""Parsing request bodies, query strings and socket payloads into validated models.

Every JSON text a client sends, over HTTP or Socket.IO, is decoded by `loads`: it refuses values
nested deeper than `MAX_DEPTH` before anything walks them recursively, and lone surrogates. Whole
numbers in models are `Int64` or `Count`, so none reaches SQLite's 64-bit INTEGER out of range.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rooms.errors import Invalid, TooLarge

M = TypeVar("M", bound=BaseModel)
D = TypeVar("D", int, None)

MAX_DEPTH = 16  # the API's deepest body nests 3 levels (4 inside a Socket.IO packet)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Any whole number a model stores or compares in SQL; larger ones are bad input, not an overflow.
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
# A count, a sequence number or a version: 0 and up, as far as SQLite's INTEGER goes.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]


class Payload(BaseModel):
    """Base of every request model: strict types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class Unreadable:
    """A socket payload that could not be decoded; its handler answers `invalid` with `reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def loads(text: str | bytes) -> Any:
    """JSON `text` as Python values, or `Invalid` if it is malformed, nests deeper than
    `MAX_DEPTH` or holds a lone surrogate."""
    try:
        data = json.loads(text)
    except RecursionError:  # far deeper than MAX_DEPTH: the decoder ran out of stack first
        raise Invalid(
            f"The JSON nests deeper than {MAX_DEPTH} levels.", rule="depth", max=MAX_DEPTH
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise Invalid("This is not valid JSON.", rule="json") from None
    _check(data)
    return data


def _check(data: Any) -> None:
    # Iterative, so that checking a deep value cannot itself run out of stack. A lone surrogate
    # ("\ud800" in JSON) is no text at all: SQLite, argon2 and our own answers fail to encode it.
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and not _encodable(value):
                raise Invalid("A string holds a lone surrogate (\\ud800 to \\udfff).", rule="json")
        elif isinstance(value, list | dict):
            if depth > MAX_DEPTH:
                raise Invalid(
                    f"The JSON nests deeper than {MAX_DEPTH} levels.", rule="depth", max=MAX_DEPTH
                )
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def validate(model: type[M], data: Any) -> M:
    """`data` as a `model`, or `Invalid` naming the first bad field."""
    if isinstance(data, Unreadable):
        raise Invalid(data.reason)
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.", rule="json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        rule, limits = _rule(first["type"], first.get("ctx") or {})
        raise Invalid(f"{where}: {first['msg']}.", field=where, rule=rule, **limits) from None


def _rule(kind: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A pydantic error type as one of our `Invalid` rules and its limits."""
    if kind == "missing":
        return "required", {}
    if kind == "string_too_long":
        return "max_length", {"max": ctx.get("max_length")}
    if kind == "too_long":
        return "count", {"max": ctx.get("max_length")}
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "min" if kind == "greater_than_equal" else "max"
        return "range", {bound: ctx.get("ge" if bound == "min" else "le")}
    return "format", {}


async def body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body as a `model` (bodies are capped at the app's 1 MiB)."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(
            "The body is larger than 1 MiB.", reason="body_too_large", params={"max": 1 << 20}
        ) from None
    return validate(model, loads(raw or b"null"))


def query_int(request: web.Request, name: str, default: D) -> int | D:
    """The query parameter `name` as a whole number from 0 to `INT64_MAX`, else `default`."""
    text = request.query.get(name)
    if text is None:
        return default
    # str.isdigit() also accepts "²" and other digits int() refuses; only ASCII digits count, and
    # few enough of them for int() (which refuses thousands) and for SQLite.
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(INT64_MAX))
    if not digits or int(text) > INT64_MAX:
        raise Invalid(
            f"{name}: a whole number from 0 to {INT64_MAX}.",
            field=name,
            rule="range",
            min=0,
            max=INT64_MAX,
        )
    return int(text)
