"""One live video session: its participants, their publications, spotlight and last-N.

Video reaches a subscriber through `last_n` fixed slots, so last-N switches, joins and leaves
never renegotiate: `Forwarder.feed_from` swaps the publication behind a slot and asks it for
a keyframe. (The alternative, one m-line per publisher with forwarding paused for the unchosen,
renegotiates on every join and leave and makes a 30-pupil class offer 30 video m-lines.) Audio is
not capped: every other participant's microphone gets an audio slot; slots freed by leavers are
reused, and only when all are taken does the subscriber's connection grow and renegotiate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any

from . import lastn
from .model import (
    Kind,
    Listener,
    OfferNeeded,
    ParticipantGone,
    SfuConfig,
    SfuEvent,
    SlotInfo,
    SlotsChanged,
    SpeakersChanged,
)
from .participant import Participant
from .publication import Publication

logger = logging.getLogger(__name__)
LAST_N_PERIOD = 0.5  # seconds between last-N re-rankings by speech
SPEAKING_HOLD = 1.0  # seconds after the last speech packet that a participant still speaks


class Session:
    """Live state of one session; `Sfu` owns it and serialises nothing else into it."""

    def __init__(self, session_id: str, config: SfuConfig, listener: Listener) -> None:
        self.session_id = session_id
        self.participants: dict[str, Participant] = {}
        self.publications: dict[str, Publication] = {}
        self.spotlight: str | None = None
        self._config = config
        self._listener = listener
        self._order: dict[str, int] = {}
        self._speakers: tuple[str, ...] = ()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Participants' closes run to the end even when the task that began one is cancelled:
        # a connection closed halfway keeps its sockets, and closing it again would wait forever.
        self._closing: set[asyncio.Task[None]] = set()
        self._ticker = asyncio.ensure_future(self._tick())

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run `coroutine` in a task the session cancels when it closes."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def join(self, participant_id: str, user_id: str) -> Participant:
        """Add a participant (idempotent for the same user)."""
        participant = self.participants.get(participant_id)
        if participant is None:
            participant = Participant(participant_id, user_id, self._config, self._on_state)
            self.participants[participant_id] = participant
        return participant

    def add_publications(self, publications: list[Publication]) -> None:
        """Register new publications and route them to every subscriber."""
        for publication in publications:
            key = f"{publication.info.participant_id}/{publication.info.mid}"
            self.publications[key] = publication
            self._order[key] = len(self._order)
        self.resync()

    def resync(self) -> None:
        """Re-route audio slots and re-run last-N for every subscriber; emit what changed."""
        for participant in list(self.participants.values()):
            if participant.subscriber is None:
                continue
            grown = self._route_audio(participant)
            self._route_video(participant)
            if grown:
                self.spawn(self.offer(participant))
            self.announce(participant)

    def announce(self, participant: Participant) -> None:
        """Tell the subscriber what its slots carry, if that changed since it was last told
        (a slot added by renegotiation learns its mid only once the offer is made)."""
        infos = self.slot_infos(participant)
        if infos == participant.announced:
            return
        participant.announced = infos
        participant.slots_version += 1
        self._emit(
            SlotsChanged(
                self.session_id, participant.participant_id, infos, participant.slots_version
            )
        )

    def slot_infos(self, participant: Participant) -> tuple[SlotInfo, ...]:
        """What each slot of the participant's subscribing connection carries now."""
        return tuple(slot.info() for slot in participant.slots)

    def _route_audio(self, participant: Participant) -> bool:
        wanted = [
            p
            for p in self.publications.values()
            if p.info.kind == "audio" and p.info.participant_id != participant.participant_id
        ]
        slots = participant.slots_of("audio")
        for slot in slots:
            if slot.forwarder.source not in wanted:
                slot.forwarder.feed_from(None)
        carried = {slot.forwarder.source for slot in slots}
        free = [slot for slot in slots if slot.forwarder.source is None]
        grown = False
        for publication in (p for p in wanted if p not in carried):
            if free:
                slot = free.pop(0)
            else:
                slot, grown = participant.add_slot("audio"), True
            slot.forwarder.feed_from(publication)
        return grown

    def _route_video(self, participant: Participant) -> None:
        slots = participant.slots_of("video")
        now = time.monotonic()
        candidates = [
            lastn.Candidate(
                key=key,
                spotlit=p.info.participant_id == self.spotlight,
                screen=p.info.source == "screen",
                last_spoke=self._last_spoke(p.info.participant_id),
                order=self._order[key],
            )
            for key, p in self.publications.items()
            if p.info.kind == "video"
            and p.enabled
            and p.live(now)
            and p.info.participant_id != participant.participant_id
        ]
        keys = {id(p): key for key, p in self.publications.items()}
        current = [keys.get(id(slot.forwarder.source)) for slot in slots]
        chosen = lastn.assign(current, lastn.choose(candidates, len(slots)))
        for slot, key in zip(slots, chosen, strict=True):
            slot.forwarder.feed_from(self.publications[key] if key is not None else None)

    def _last_spoke(self, participant_id: str) -> float:
        return max(
            (
                p.last_spoke
                for p in self.publications.values()
                if p.info.participant_id == participant_id and p.info.kind == "audio"
            ),
            default=0.0,
        )

    async def offer(self, participant: Participant) -> None:
        """Renegotiate a subscriber and hand the offer to the listener."""
        sdp = await participant.renegotiate()
        if sdp is not None:
            self._emit(OfferNeeded(self.session_id, participant.participant_id, sdp))
            self.announce(participant)

    def set_enabled(self, participant_id: str, kind: Kind, enabled: bool) -> None:
        """Start or stop forwarding one kind of a participant's media."""
        for publication in self.publications.values():
            if publication.info.participant_id == participant_id and publication.info.kind == kind:
                publication.set_enabled(enabled)
        self.resync()

    def unpublish(self, participant_id: str, mid: str) -> bool:
        """Forget one published track (the client stopped it); False if there was none."""
        publication = self.publications.pop(f"{participant_id}/{mid}", None)
        if publication is None:
            return False
        publication.close()
        self.resync()
        return True

    async def remove(self, participant_id: str) -> None:
        """Drop a participant: their publications stop, their connections close."""
        participant = self.participants.pop(participant_id, None)
        if participant is None:
            return
        for key, publication in list(self.publications.items()):
            if publication.info.participant_id == participant_id:
                self.publications.pop(key).close()
        if self.spotlight == participant_id:
            self.spotlight = None
        closing = asyncio.ensure_future(participant.close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        await asyncio.shield(closing)
        self.resync()

    def _on_state(self, participant: Participant, state: str) -> None:
        if (
            state in ("failed", "closed")
            and self.participants.get(participant.participant_id) is participant
        ):
            self.spawn(self.remove(participant.participant_id))
            self._emit(ParticipantGone(self.session_id, participant.participant_id, state))

    async def _tick(self) -> None:
        # Re-rank by speech, forget publications whose stream ended (RTCP BYE, disconnect), and
        # unblock videos held back by a lost packet.
        while True:
            await asyncio.sleep(LAST_N_PERIOD)
            for key in [k for k, p in self.publications.items() if p.ended]:
                self.publications.pop(key).close()
            now = time.monotonic()
            for publication in self.publications.values():
                publication.check_stall(now)
            self.resync()
            speakers = self.speakers(now)
            if speakers != self._speakers:
                self._speakers = speakers
                self._emit(SpeakersChanged(self.session_id, speakers))

    def speakers(self, now: float) -> tuple[str, ...]:
        """The participants speaking now (speech within `SPEAKING_HOLD`), sorted."""
        return tuple(
            sorted(
                {
                    p.info.participant_id
                    for p in self.publications.values()
                    if p.info.kind == "audio" and p.enabled and now - p.last_spoke < SPEAKING_HOLD
                }
            )
        )

    def _emit(self, event: SfuEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # a listener bug must not break media for the whole session
            logger.exception("SFU listener failed on %s", type(event).__name__)

    async def close(self) -> None:
        """Close every connection and cancel every task of the session."""
        self._ticker.cancel()
        for task in list(self._tasks):
            task.cancel()
        for publication in self.publications.values():
            publication.close()
        self.publications.clear()
        participants = list(self.participants.values())
        self.participants.clear()
        await asyncio.gather(
            *(p.close() for p in participants), *self._closing, return_exceptions=True
        )
        for task in [self._ticker, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
