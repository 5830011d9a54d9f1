"""The SFU's public face: sessions of participants who publish and subscribe over WebRTC.

Typical wiring from Socket.IO `media:*` handlers (one call each):
`join` → `publish(offer, sources)` returns the answer → `subscribe()` returns an offer →
`answer(sdp)`; later `OfferNeeded` events carry re-offers to answer the same way, and
`SlotsChanged` events say which user each received m-line (mid) shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from . import aiortc_private
from .errors import MediaError
from .model import (
    Kind,
    Listener,
    SfuConfig,
    SfuEvent,
    SlotInfo,
    SlotsChanged,
    TrackInfo,
)
from .participant import Participant
from .session import Session

logger = logging.getLogger(__name__)


def _ignore(event: SfuEvent) -> None:
    logger.debug("SFU event without listener: %r", event)


class Sfu:
    """A selective forwarding unit for live video sessions, forwarding encoded media.

    `listener` receives `OfferNeeded`, `SlotsChanged` and `ParticipantGone` events synchronously
    on the event loop; it must not block (schedule any I/O, such as a Socket.IO emit, itself).
    Building an `Sfu` checks the aiortc internals it relies on and raises `MediaError` with code
    "unsupported" if they are missing.
    """

    def __init__(self, config: SfuConfig, listener: Listener | None = None) -> None:
        aiortc_private.check()
        self.config = config
        self._listener = listener or _ignore
        self._sessions: dict[str, Session] = {}

    def _session(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise MediaError("not_found", f"no live media session {session_id!r}")
        return session

    def _participant(self, session_id: str, participant_id: str) -> Participant:
        participant = self._session(session_id).participants.get(participant_id)
        if participant is None:
            raise MediaError("not_found", f"no participant {participant_id!r} in the session")
        return participant

    def join(self, session_id: str, participant_id: str, user_id: str) -> None:
        """Add a participant to a session, opening the session on its first participant."""
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = Session(session_id, self.config, self._emit)
        participant = session.participants.get(participant_id)
        if participant is not None and participant.user_id != user_id:
            raise MediaError("conflict", "participant id already taken by another user")
        session.join(participant_id, user_id)

    async def publish(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str] | None = None,
    ) -> str:
        """Answer a participant's publishing offer (first or renegotiated); return the answer SDP.

        `sources` maps the client's track ids or mids to "camera", "microphone" or "screen".
        Raises `MediaError` ("invalid") for malformed SDP; the session is left as it was.
        """
        session = self._session(session_id)
        participant = self._participant(session_id, participant_id)
        answer, publications = await participant.publish(sdp, sources or {})
        if session.participants.get(participant_id) is not participant:
            # Removed (or the session ended) while the offer was answered: forward nothing.
            for publication in publications:
                publication.close()
            raise MediaError("not_found", f"participant {participant_id!r} has left")
        session.add_publications(publications)
        return answer

    async def subscribe(self, session_id: str, participant_id: str) -> str:
        """Open a participant's receiving connection; return the SFU's offer SDP.

        It has `config.last_n` video m-lines (slots) and one audio m-line per other microphone
        (at least one). Call `answer` with the client's answer; `SlotsChanged` follows.
        """
        session = self._session(session_id)
        participant = self._participant(session_id, participant_id)
        microphones = sum(
            1
            for p in session.publications.values()
            if p.info.kind == "audio" and p.info.participant_id != participant_id
        )
        offer = await participant.subscribe(self.config.last_n, microphones)
        session.resync()
        return offer

    async def answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        """Apply the client's answer to the SFU's latest offer on its receiving connection."""
        session = self._session(session_id)
        participant = self._participant(session_id, participant_id)
        await participant.accept_answer(sdp)
        if participant.renegotiate_later:
            session.spawn(session.offer(participant))

    def unpublish(self, session_id: str, participant_id: str, mid: str) -> None:
        """Stop forwarding one of a participant's tracks, named by its mid on their publishing
        connection (as in `tracks()`); the client should also renegotiate it away."""
        self._participant(session_id, participant_id)
        if not self._session(session_id).unpublish(participant_id, mid):
            raise MediaError("not_found", f"no published track with mid {mid!r}")

    def mute(self, session_id: str, participant_id: str, kind: Kind = "audio") -> None:
        """Stop forwarding a participant's audio ("audio") or video ("video", every source)."""
        self._participant(session_id, participant_id)
        self._session(session_id).set_enabled(participant_id, kind, False)

    def unmute(self, session_id: str, participant_id: str, kind: Kind = "audio") -> None:
        """Resume forwarding; subscribers get video again from the next (requested) keyframe."""
        self._participant(session_id, participant_id)
        self._session(session_id).set_enabled(participant_id, kind, True)

    def spotlight(self, session_id: str, participant_id: str | None) -> None:
        """Make every subscriber receive this participant's videos whatever last-N says (None:
        nobody)."""
        session = self._session(session_id)
        if participant_id is not None:
            self._participant(session_id, participant_id)
        session.spotlight = participant_id
        session.resync()

    async def remove(self, session_id: str, participant_id: str) -> None:
        """Remove a participant: their connections close and nobody receives them any more."""
        self._participant(session_id, participant_id)
        await self._session(session_id).remove(participant_id)

    def tracks(self, session_id: str) -> list[TrackInfo]:
        """Every published track of the session: mid and track id to participant, user, source."""
        return [p.info for p in self._session(session_id).publications.values()]

    def slots(self, session_id: str, participant_id: str) -> list[SlotInfo]:
        """What each m-line of a participant's receiving connection carries now."""
        session = self._session(session_id)
        return list(session.slot_infos(self._participant(session_id, participant_id)))

    def announced_slots(self, session_id: str, participant_id: str) -> SlotsChanged:
        """The participant's latest slot announcement (version 0, no slots, before the first),
        for a reply that must agree with the `SlotsChanged` events of the same version."""
        participant = self._participant(session_id, participant_id)
        return SlotsChanged(
            session_id, participant_id, participant.announced, participant.slots_version
        )

    def session_ids(self) -> list[str]:
        """The ids of the live sessions."""
        return list(self._sessions)

    async def end_session(self, session_id: str) -> None:
        """Close every connection of a session and cancel its tasks (no-op if unknown)."""
        session = self._sessions.pop(session_id, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        """End every session."""
        for session_id in list(self._sessions):
            await self.end_session(session_id)

    def _emit(self, event: SfuEvent) -> None:
        if isinstance(event, SlotsChanged) and not event.slots:
            return
        self._listener(event)
