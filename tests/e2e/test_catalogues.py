"""The six message catalogues of the web client say everything the English one says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

I18N = Path(__file__).resolve().parents[2] / "static" / "i18n"
LANGUAGES = ["en", "fr", "de", "es", "it", "pl"]
PLURAL = re.compile(r"\.(zero|one|two|few|many|other)$")


def load(lang: str) -> dict[str, str]:
    return dict(json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8")))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("lang", LANGUAGES[1:])
def test_every_english_message_is_translated(lang: str) -> None:
    english, other = load("en"), load(lang)
    missing = sorted(key for key in english if key not in other)
    extra = sorted(key for key in other if key not in english and not PLURAL.search(key))
    assert missing == [] and extra == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_english(lang: str) -> None:
    english, other = load("en"), load(lang)
    names = re.compile(r"\{(\w+)\}")
    for key, text in other.items():
        source = english.get(key) or english[PLURAL.sub(".other", key)]
        assert set(names.findall(text)) <= set(names.findall(source)), key
