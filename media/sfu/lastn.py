"""Last-N: which videos each subscriber gets, and which fixed slot carries each of them.

Pure functions over plain values, so the policy is tested without peers. Ranking, best first:
the spotlit participant's videos, then screen shares, then whoever spoke most recently (by the
ssrc-audio-level header extension), then whoever published first. Assignment is sticky: a video
that stays chosen keeps its slot, so switching one speaker never reshuffles the others' tiles.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Candidate:
    """A video a subscriber could receive, with what ranks it."""

    key: str
    spotlit: bool
    screen: bool
    last_spoke: float
    order: int


def choose(candidates: Sequence[Candidate], n: int) -> list[str]:
    """Return the keys of the best `n` candidates, best first."""
    ranked = sorted(
        candidates,
        key=lambda c: (not c.spotlit, not c.screen, -c.last_spoke, c.order),
    )
    return [c.key for c in ranked[:n]]


def assign(current: Sequence[Key | None], chosen: Sequence[Key]) -> list[Key | None]:
    """Fill `len(current)` slots with `chosen`, keeping every chosen key already in a slot there.

    Slots whose key is no longer chosen are freed first, then newcomers take free slots in rank
    order; a slot with nothing to carry is None.
    """
    wanted = set(chosen)
    slots: list[Key | None] = [key if key in wanted else None for key in current]
    placed = {key for key in slots if key is not None}
    newcomers = iter(key for key in chosen if key not in placed)
    for index, key in enumerate(slots):
        if key is None:
            slots[index] = next(newcomers, None)
    return slots
