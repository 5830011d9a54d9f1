"""Offer/answer on the SFU's RTCPeerConnections, with aiortc's errors translated to `MediaError`.

No trickle ICE: aiortc gathers every candidate inside `setLocalDescription`, so the SDP these
functions return already carries them. Gathering happens inside `gather_on(addresses)`, which is
how the SFU's candidates land on exactly the configured addresses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.sdp import SessionDescription

from .aiortc_private import gather_on
from .errors import MediaError

MAX_SDP_BYTES = 64 * 1024  # a 30-person room's SDP is a few KiB; refuse anything absurd early


@contextlib.contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Turn the errors aiortc raises for bad or untimely SDP into `MediaError`."""
    try:
        yield
    except (InvalidStateError, InvalidAccessError) as exc:
        raise MediaError("conflict", f"{what}: {exc}") from exc
    except (ValueError, KeyError, IndexError, OperationError, InternalError) as exc:
        raise MediaError("invalid", f"{what}: {exc or type(exc).__name__}") from exc


def parse_offer(sdp: str) -> SessionDescription:
    """Parse and sanity-check a client's offer before aiortc sees it.

    aiortc accepts text with no media section at all as an offer; a publisher's offer must have
    at least one audio or video m-line, each with ICE credentials.
    """
    description = parse_remote(sdp, "offer")
    if not any(m.kind in ("audio", "video") for m in description.media):
        raise MediaError("invalid", "offer: no audio or video m-line")
    return description


def parse_remote(sdp: str, what: str) -> SessionDescription:
    """Parse a client's SDP and check what aiortc's `setRemoteDescription` takes for granted.

    aiortc's parser asserts, indexes and calls `next()` on the text as it reads it, and
    `setRemoteDescription` then assumes that every m-line has a mid of its own, ICE credentials
    and DTLS parameters, and that a BUNDLE group names only mids that exist. Anything else would
    surface as an AssertionError or AttributeError from deep inside aiortc (some of it in a task
    of its own, after the answer went out), so it is refused here as `invalid`.
    """
    if not isinstance(sdp, str) or len(sdp) > MAX_SDP_BYTES:
        raise MediaError("invalid", f"{what}: SDP must be a string of at most 64 KiB")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # whatever parsing untrusted text raises, the text is at fault
        raise MediaError("invalid", f"{what}: malformed SDP") from exc
    mids = [m.rtp.muxId for m in description.media]
    if any(not mid for mid in mids) or len(set(mids)) != len(mids):
        raise MediaError("invalid", f"{what}: every m-line needs a mid of its own")
    for m in description.media:
        if m.ice is None or not m.ice.usernameFragment or not m.ice.password:
            raise MediaError("invalid", f"{what}: an m-line lacks ICE credentials")
        if m.dtls is None or not m.dtls.fingerprints:
            raise MediaError("invalid", f"{what}: an m-line lacks a DTLS fingerprint or setup")
    for group in description.group:
        if group.semantic == "BUNDLE" and not set(map(str, group.items)) <= set(mids):
            raise MediaError("invalid", f"{what}: a BUNDLE group names an unknown mid")
    return description


async def answer_offer(pc: RTCPeerConnection, sdp: str, addresses: Sequence[str]) -> str:
    """Apply a remote offer and return our answer's SDP (candidates included)."""
    parse_offer(sdp)
    with translated_errors("offer"):
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        answer = await pc.createAnswer()
        with gather_on(addresses):
            await pc.setLocalDescription(answer)
    return _local_sdp(pc)


async def create_offer(pc: RTCPeerConnection, addresses: Sequence[str]) -> str:
    """Create and apply a local offer; return its SDP (candidates included)."""
    with translated_errors("offer"):
        offer = await pc.createOffer()
        with gather_on(addresses):
            await pc.setLocalDescription(offer)
    return _local_sdp(pc)


async def accept_answer(pc: RTCPeerConnection, sdp: str) -> None:
    """Apply the client's answer to our pending offer."""
    if pc.signalingState != "have-local-offer":
        raise MediaError("conflict", "answer: no offer is waiting for one")
    parse_remote(sdp, "answer")
    with translated_errors("answer"):
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


def _local_sdp(pc: RTCPeerConnection) -> str:
    description = pc.localDescription
    if description is None:  # setLocalDescription succeeded, so this cannot happen
        raise MediaError("conflict", "no local description")
    sdp: str = description.sdp
    return sdp
