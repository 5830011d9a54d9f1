"""Values the SFU takes and hands out: its config, track and slot descriptions, and events.

Everything here is a frozen dataclass so the server can pass it on (log it, JSON-encode it with
`dataclasses.asdict`) without reaching into the SFU's live objects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer

from .errors import MediaError

Kind = Literal["audio", "video"]
Source = Literal["camera", "microphone", "screen"]
SOURCES: frozenset[str] = frozenset({"camera", "microphone", "screen"})
DEFAULT_SOURCE: dict[str, Source] = {"audio": "microphone", "video": "camera"}


@dataclass(frozen=True)
class SfuConfig:
    """How the SFU reaches the network: ICE servers, the addresses it gathers on, last-N.

    `ice_servers` are RTCIceServer-shaped dicts (`urls`, optional `username` and `credential`);
    `[]` means host candidates only, and aiortc then never contacts a public STUN server.
    `addresses` are the IPs the SFU gathers ICE host candidates on (like mediasoup's listenIps);
    empty means aioice's default, every non-loopback interface. `last_n` caps the videos each
    subscriber receives.
    """

    ice_servers: Sequence[Mapping[str, str | Sequence[str]]] = ()
    addresses: Sequence[str] = ()
    last_n: int = 9

    def __post_init__(self) -> None:
        if self.last_n < 0:
            raise MediaError("invalid", "last_n must be zero or more")
        for address in self.addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise MediaError("invalid", f"not an IP address: {address!r}") from None
        for server in self.ice_servers:
            if "urls" not in server:
                raise MediaError("invalid", "every ICE server needs 'urls'")

    def rtc_configuration(self) -> RTCConfiguration:
        """Build the RTCConfiguration every SFU RTCPeerConnection gets.

        Passing an explicit list (even an empty one) is what keeps aiortc off its default public
        STUN server. MAX_BUNDLE puts every m-line on one ICE transport, so a subscriber connection
        that grows by renegotiation never gathers again.
        """
        servers = [
            RTCIceServer(
                urls=_urls(server["urls"]),
                username=_optional_str(server.get("username")),
                credential=_optional_str(server.get("credential")),
            )
            for server in self.ice_servers
        ]
        return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def _urls(value: str | Sequence[str]) -> str | list[str]:
    return value if isinstance(value, str) else list(value)


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class TrackInfo:
    """One published track: who publishes it, what it shows, and its mid on their connection."""

    participant_id: str
    user_id: str
    kind: Kind
    source: Source
    track_id: str
    mid: str


@dataclass(frozen=True)
class SlotInfo:
    """One m-line of a subscriber's connection and who currently feeds it (None: nobody).

    The client maps `mid` to its receiving transceiver and labels the tile with `user_id`.
    """

    mid: str
    kind: Kind
    participant_id: str | None = None
    user_id: str | None = None
    source: Source | None = None


@dataclass(frozen=True)
class OfferNeeded:
    """The SFU renegotiated a subscriber connection: send `sdp` (an offer) to the client.

    The client answers with `Sfu.answer(...)`. Emitted only after the first subscribe, when the
    subscriber needs more audio m-lines than it has.
    """

    session_id: str
    participant_id: str
    sdp: str


@dataclass(frozen=True)
class SlotsChanged:
    """Which publisher now feeds each m-line of a subscriber's connection (after last-N etc.).

    `version` counts the subscriber's announcements (1, 2, ...): events may reach a client in
    another order than they were made, or after the `subscribe` answer, so a client keeps the
    slots with the highest version it has seen (`Sfu.announced_slots` is the latest).
    """

    session_id: str
    participant_id: str
    slots: tuple[SlotInfo, ...] = field(default_factory=tuple)
    version: int = 0


@dataclass(frozen=True)
class ParticipantGone:
    """A participant's connection failed or closed on its own; the SFU has removed them."""

    session_id: str
    participant_id: str
    reason: str


@dataclass(frozen=True)
class SpeakersChanged:
    """Who is speaking now: participants whose microphone carried speech within the last
    second, by the ssrc-audio-level header extension (a muted microphone never counts)."""

    session_id: str
    participant_ids: tuple[str, ...] = ()


SfuEvent = OfferNeeded | SlotsChanged | ParticipantGone | SpeakersChanged
Listener = Callable[[SfuEvent], None]
