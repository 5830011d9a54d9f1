"""Parsing request bodies and socket payloads into validated models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from rooms.errors import Invalid, TooLarge

M = TypeVar("M", bound=BaseModel)


class Payload(BaseModel):
    """Base of every request model: strict types, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def validate(model: type[M], data: Any) -> M:
    """`data` as a `model`, or `Invalid` naming the first bad field."""
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise Invalid(f"{where}: {first['msg']}.") from None


async def body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body as a `model` (bodies are capped at the app's 1 MiB)."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge("The body is larger than 1 MiB.") from None
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Invalid("The body is not valid JSON.") from None
    return validate(model, data)
