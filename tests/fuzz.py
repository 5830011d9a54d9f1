"""Shared pieces of the fuzz tests: hypothesis settings, hostile JSON, and the checks on answers.

Every fuzz test serves all its examples from one server (its fixtures are built once per test, on
purpose), keeps its example count moderate and has no deadline: the server's answer time varies
with the machine's load, and a slow answer is not a failure.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "fuzz",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings.get_profile("fuzz")

# Whole numbers around the edges of SQLite's 64-bit INTEGER, and far past them.
HUGE_INTS = st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**30, -(10**40)])
NASTY_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\r\n", "\x1b[31m", "\u202e", "\u200b", "\ud800", "..", "../..",
     "%00", "{room}", "😂" * 50]
)  # fmt: skip
# Any code point, surrogates and control characters included.
TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.floats(),
    TEXT,
    NASTY_TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int, opener: str) -> str:
    """JSON nested `depth` levels deep, far past what any payload needs."""
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# Raw JSON nested up to 20,000 levels, in at most 48 KB: within a socket message's 64 KiB.
DEEP_JSON = st.builds(nested, st.integers(1, 20_000), st.just("[")) | st.builds(
    nested, st.integers(1, 8_000), st.just("{")
)


def json_text(value: Any) -> str:
    """`value` as JSON the way a careless client would write it (NaN and Infinity included)."""
    return json.dumps(value)


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base` (a valid payload) with some fields dropped, replaced by hostile values, or added;
    objects and arrays inside it are mutated the same way."""
    if isinstance(base, dict):
        result = {}
        for key, value in base.items():
            action = draw(st.sampled_from(["keep", "keep", "drop", "replace", "recurse"]))
            if action == "keep":
                result[key] = value
            elif action == "replace":
                result[key] = draw(HUGE_INTS | NASTY_TEXT | JSON_VALUES)
            elif action == "recurse":
                result[key] = draw(mutated(value))
        result.update(draw(st.dictionaries(TEXT, JSON_VALUES, max_size=2)))
        return result
    if isinstance(base, list):
        return [draw(mutated(item)) for item in base] + draw(st.lists(JSON_VALUES, max_size=2))
    return draw(st.just(base) | HUGE_INTS | NASTY_TEXT | JSON_VALUES)


def payloads(base: dict[str, Any]) -> st.SearchStrategy[str]:
    """Raw JSON texts for a payload whose valid form is `base`: mostly mutations of it, and
    sometimes any JSON value at all, or JSON nested thousands of levels deep."""
    return st.one_of(
        mutated(base).map(json_text),
        mutated(base).map(json_text),
        JSON_VALUES.map(json_text),
        DEEP_JSON,
    )


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged at ERROR or above since the last `caplog.clear()`."""
    return [
        f"{record.name}: {record.getMessage()} {record.exc_info[1]!r}"
        if record.exc_info
        else f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR
    ]


def check_ack(ack: Any, what: str) -> None:
    """A Socket.IO ack for bad input: ok, or an error with a code other than `internal`."""
    assert isinstance(ack, dict), (what, ack)
    if not ack["ok"]:
        assert ack["error"]["code"] != "internal", (what, ack)


@dataclass
class Named:
    """The ids a scene made, which fuzzed payloads name as `{room}`, `{thread}`, … and get filled
    in before they are sent."""

    names: dict[str, str]

    def fill(self, text: str) -> str:
        for name, value in self.names.items():
            text = text.replace("{" + name + "}", value)
        return text
