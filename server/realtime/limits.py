"""Rate limits on what clients send: one token bucket per user and class of event, in one table.

Every Socket.IO event a client may send belongs to exactly one class (the hub refuses to register
an event without one), and so do the HTTP actions whose effect reaches every member at once.
Signalling is generous: a join exchanges a few offers and answers, and every newcomer to a call
makes the SFU re-offer to everyone, so normal use must never meet its limit. What a member can
repeat to make the whole room's screens flicker (hands, reactions, joins with their presence
updates) is tight. Users who are not pupils get twice each burst: teachers act for a whole class.
"""

from __future__ import annotations

from dataclasses import dataclass

from rooms.models import User
from rooms.ratelimit import Rate, RateLimiter
from server.config import Settings

REACT = "POST /api/posts/{post_id}/reactions"


@dataclass(frozen=True)
class EventClass:
    """A bucket of `rate` per user, shared by `events`."""

    rate: Rate
    events: tuple[str, ...]


def event_classes(settings: Settings) -> dict[str, EventClass]:
    """The table: every client event's class and its bucket (pupils' figures; see docs/api.md)."""
    return {
        "signalling": EventClass(
            Rate(120, 10), ("media:publish", "media:subscribe", "media:answer")
        ),
        "call": EventClass(Rate(20, 60), ("media:join", "media:leave")),
        "control": EventClass(
            Rate(60, 10),
            (
                "media:moderate",
                "media:mute",
                "media:mute_all",
                "media:unmute",
                "media:video_off",
                "media:video_on",
                "media:session_remove",
                "media:lobby_admit",
                "media:lobby_deny",
                "media:lock",
                "media:unlock",
                "media:spotlight",
                "media:end",
            ),
        ),
        "hand": EventClass(Rate(15, 30), ("media:hand",)),
        "room": EventClass(Rate(30, 30), ("room:join", "room:leave")),
        "chat": EventClass(settings.rate_chat, ("chat:send",)),
        "reaction": EventClass(Rate(20, 20), (REACT,)),
    }


class EventLimits:
    """Spends a token of the caller's bucket for an event's class, or raises `RateLimited`."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.classes = event_classes(settings)
        self.scale = settings.rate_events
        self._class_of = {
            event: name for name, kind in self.classes.items() for event in kind.events
        }

    def check(self, event: str) -> None:
        """Refuse, at start, an event that no class covers: it would go unlimited."""
        if event not in self._class_of:
            raise ValueError(f"{event}: add it to a class in server/realtime/limits.py")

    async def spend(self, event: str, user: User) -> None:
        name = self._class_of[event]
        rate = self.classes[name].rate
        burst = rate.burst * (1 if user.role == "pupil" else 2)
        if name != "chat":  # RATE_CHAT is set on its own
            burst = max(1, round(burst * self.scale))
        rate = Rate(burst, rate.period)
        await self.limiter.hit(f"event:{name}:{user.id}", rate)
