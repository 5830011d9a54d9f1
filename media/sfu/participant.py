"""One participant of a live session: a publishing and a subscribing RTCPeerConnection.

Two connections, not one renegotiated in both directions: the client is always the offerer on
the publishing one and the SFU always the offerer on the subscribing one, so neither side ever
has to resolve glare (both offering at once), and a publisher adding a screen share never waits
for a subscriber renegotiation in flight, nor the reverse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver

from . import signalling
from .errors import MediaError
from .forwarder import Forwarder
from .model import DEFAULT_SOURCE, SOURCES, Kind, SfuConfig, SlotInfo, Source, TrackInfo
from .publication import Publication


def _check_sources(sources: Mapping[str, str]) -> None:
    bad = {label for label in sources.values() if label not in SOURCES}
    if bad:
        raise MediaError("invalid", f"unknown source labels: {sorted(bad)}")


class Slot:
    """One sendonly m-line of the subscribing connection and the `Forwarder` that feeds it."""

    def __init__(self, transceiver: RTCRtpTransceiver, forwarder: Forwarder) -> None:
        self.transceiver = transceiver
        self.forwarder = forwarder

    def info(self) -> SlotInfo:
        """Describe the slot for the client: its mid and who feeds it now."""
        kind: Kind = "audio" if self.forwarder.kind == "audio" else "video"
        source = self.forwarder.source
        if source is None:
            return SlotInfo(mid=self.transceiver.mid or "", kind=kind)
        return SlotInfo(
            mid=self.transceiver.mid or "",
            kind=kind,
            participant_id=source.info.participant_id,
            user_id=source.info.user_id,
            source=source.info.source,
        )


class Participant:
    """A participant's two connections, their published tracks and their receiving slots.

    `on_state(participant, state)` is called on every connectionstatechange of either
    connection, so the session can drop a participant whose network went away.
    """

    def __init__(
        self,
        participant_id: str,
        user_id: str,
        config: SfuConfig,
        on_state: Callable[[Participant, str], None],
    ) -> None:
        self.participant_id = participant_id
        self.user_id = user_id
        self.publisher: RTCPeerConnection | None = None
        self.subscriber: RTCPeerConnection | None = None
        self.slots: list[Slot] = []
        # What the client was last told its slots carry, and how many times it was told.
        self.announced: tuple[SlotInfo, ...] = ()
        self.slots_version = 0
        self.renegotiate_later = False
        # One negotiation at a time per connection; closing waits for them, because aiortc
        # closing a connection whose ICE gathering is still binding sockets leaks those sockets.
        self._publishing = asyncio.Lock()
        self._offering = asyncio.Lock()
        self._closing = False
        self._config = config
        self._on_state = on_state

    def _connection(self) -> RTCPeerConnection:
        return RTCPeerConnection(self._config.rtc_configuration())

    def _watch(self, pc: RTCPeerConnection) -> None:
        # Watched only once negotiated, so closing a connection whose SDP failed is silent.
        @pc.on("connectionstatechange")
        def on_connection_state() -> None:
            if not self._closing:
                self._on_state(self, pc.connectionState)

    async def publish(self, sdp: str, sources: Mapping[str, str]) -> tuple[str, list[Publication]]:
        """Answer the client's (re)offer; return the answer and the publications it created.

        `sources` maps a track id or a mid to "camera", "microphone" or "screen"; unlabelled
        audio is the microphone and unlabelled video the camera.
        """
        _check_sources(sources)
        async with self._publishing:
            self._check_open()
            return await self._answer_publisher(sdp, sources)

    async def _answer_publisher(
        self, sdp: str, sources: Mapping[str, str]
    ) -> tuple[str, list[Publication]]:
        fresh = self.publisher is None
        pc = self.publisher or self._connection()
        created: list[Publication] = []

        def on_track(track: MediaStreamTrack) -> None:
            created.append(self._publication(pc, track, sources))

        pc.on("track", on_track)
        try:
            answer = await signalling.answer_offer(pc, sdp, self._config.addresses)
        except MediaError:
            for publication in created:
                publication.close()
            if fresh:
                await pc.close()
            raise
        finally:
            pc.remove_listener("track", on_track)
        if fresh:
            self._watch(pc)
        self.publisher = pc
        return answer, created

    def _publication(
        self, pc: RTCPeerConnection, track: MediaStreamTrack, sources: Mapping[str, str]
    ) -> Publication:
        # Runs inside setRemoteDescription's "track" event: the receiver has not started yet.
        transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
        mid = transceiver.mid or ""
        kind: Kind = "audio" if track.kind == "audio" else "video"
        label = sources.get(track.id) or sources.get(mid) or DEFAULT_SOURCE[kind]
        source: Source = "screen" if label == "screen" else DEFAULT_SOURCE[kind]
        info = TrackInfo(self.participant_id, self.user_id, kind, source, track.id, mid)
        return Publication(info, transceiver.receiver)

    async def subscribe(self, video_slots: int, audio_slots: int) -> str:
        """Open the subscribing connection with fixed video slots; return the SFU's offer."""
        self._check_open()
        if self.subscriber is not None:
            raise MediaError("conflict", "already subscribed")
        self.subscriber = self._connection()
        for _ in range(video_slots):
            self.add_slot("video")
        # At least one audio m-line, so the offer is never empty even with last_n = 0.
        for _ in range(max(1, audio_slots)):
            self.add_slot("audio")
        offer = await self._offer(self.subscriber)
        self._watch(self.subscriber)
        return offer

    async def _offer(self, pc: RTCPeerConnection) -> str:
        # While an offer is being built (ICE gathering awaits), another must wait its turn.
        async with self._offering:
            self._check_open()
            return await signalling.create_offer(pc, self._config.addresses)

    def _check_open(self) -> None:
        if self._closing:
            raise MediaError("conflict", "the participant has left")

    def add_slot(self, kind: Kind) -> Slot:
        """Add a sendonly m-line to the subscribing connection (takes effect at the next offer)."""
        if self.subscriber is None:
            raise MediaError("conflict", "not subscribed")
        forwarder = Forwarder(kind)
        transceiver = self.subscriber.addTransceiver(forwarder.track, direction="sendonly")
        forwarder.bind(transceiver.sender)
        slot = Slot(transceiver, forwarder)
        self.slots.append(slot)
        return slot

    def slots_of(self, kind: Kind) -> Sequence[Slot]:
        """The slots of one kind, in m-line order."""
        return [slot for slot in self.slots if slot.forwarder.kind == kind]

    async def renegotiate(self) -> str | None:
        """Offer the subscriber its current m-lines; None if an offer already awaits an answer
        (the session re-offers once that answer arrives)."""
        if self.subscriber is None:
            return None
        if self._offering.locked() or self.subscriber.signalingState != "stable":
            self.renegotiate_later = True
            return None
        self.renegotiate_later = False
        return await self._offer(self.subscriber)

    async def accept_answer(self, sdp: str) -> None:
        """Apply the client's answer to the SFU's latest offer."""
        if self.subscriber is None:
            raise MediaError("conflict", "not subscribed")
        await signalling.accept_answer(self.subscriber, sdp)

    async def close(self) -> None:
        """Close both connections (their senders' and receivers' tasks end with them), once any
        negotiation in flight has finished gathering."""
        self._closing = True
        for slot in self.slots:
            slot.forwarder.stop()
        async with self._publishing, self._offering:
            for pc in (self.publisher, self.subscriber):
                if pc is not None:
                    await pc.close()
