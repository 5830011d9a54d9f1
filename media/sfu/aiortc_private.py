"""Every use of aiortc and aioice private names, and nothing else.

aiortc has no SFU mode, so forwarding encoded media touches internals (pinned: aiortc==1.16.0,
aioice==0.13.0). `check()` runs when an `Sfu` is built and fails loudly if a name moved, instead of
letting the SFU silently fall back to decoding or stop relaying keyframe requests.

- Receive: `RTCRtpReceiver` puts `(codec, JitterFrame)` into `self.__decoder_queue` for its
  decoder thread. `tap_receiver` swaps that queue, before `receive()` starts the thread, for an
  object whose `get()` answers None at once: the thread exits without building a decoder, and
  each reassembled encoded frame goes to the SFU instead. For audio, `_handle_rtp_packet` is
  wrapped so the SFU sees each packet before aiortc's jitter buffer holds it.
- Send: the SFU writes RTP itself (see rtp.py), protects it with the DTLS transport's SRTP
  session and hands it to the nominated ICE pair's transport (`rtp_writer`, what
  `RTCDtlsTransport._send_rtp` does minus four coroutines); aiortc's own sender loop idles.
  The sender's statistics behind its RTCP sender reports are kept true through its private counters (`count_sent`), its NACK handler
  `_retransmit` is replaced per sender, and `send()` is wrapped to learn the negotiated payload
  types and header extensions.
- Keyframes: `RTCRtpSender._send_keyframe` (called on PLI/FIR) is replaced per sender, and
  `RTCRtpReceiver._send_rtcp_pli` asks a publisher for a keyframe.
- ICE: aioice's `get_host_addresses` skips 127.0.0.1; it is replaced once by a function that
  answers the addresses of `gather_on(...)` (a context variable, so only gathering started inside
  that block is affected, and every other caller in the process gets aioice's own answer).
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence

import pylibsrtp
from aioice import ice as aioice_ice
from aiortc import (
    RTCDtlsTransport,
    RTCPeerConnection,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import HeaderExtensions, RtpPacket

from .errors import MediaError

DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"  # created in __init__, as the NACK generator
NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"  # retransmission ssrc -> media ssrc, from the remote SDP

# Receives each reassembled encoded frame with the codec it was sent in.
FrameSink = Callable[[RTCRtpCodecParameters, JitterFrame], None]
RtpWriter = Callable[[bytes], None]
DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"  # what the transport's stats say it sent
DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
SENDER_NTP = "_RTCRtpSender__ntp_timestamp"  # what the sender's RTCP sender reports say
SENDER_RTP = "_RTCRtpSender__rtp_timestamp"
SENDER_OCTETS = "_RTCRtpSender__octet_count"
SENDER_PACKETS = "_RTCRtpSender__packet_count"

_gather_addresses: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "twinrooms_sfu_gather_addresses", default=None
)
_aioice_get_host_addresses = aioice_ice.get_host_addresses
# A tapped receiver's own PLI sender, so the SFU's keyframe requests bypass the loss hook.
_own_pli: weakref.WeakKeyDictionary[RTCRtpReceiver, Callable[[int], Awaitable[None]]] = (
    weakref.WeakKeyDictionary()
)


def check() -> None:
    """Verify that every private name this module uses exists, or raise `MediaError`.

    Mangled attribute names show up in a function's `co_names`, so the checks read the bytecode
    of the methods that must use them rather than building live objects.
    """
    required: list[tuple[object, str, str]] = [
        (RTCRtpReceiver, "__init__", DECODER_QUEUE),
        (RTCRtpReceiver, "_handle_rtp_packet", DECODER_QUEUE),
        (RTCRtpReceiver, "_send_rtcp_pli", "_send_rtcp"),
        (RTCRtpReceiver, "_handle_rtp_packet", "_send_rtcp_pli"),
        (RTCRtpReceiver, "_handle_rtp_packet", JITTER_BUFFER),
        (RTCRtpReceiver, "_handle_rtp_packet", NACK_GENERATOR),
        (RTCRtpReceiver, "_handle_rtp_packet", "_send_rtcp_nack"),
        (JitterBuffer, "add", "_origin"),
        (NackGenerator, "add", "missing"),
        (RTCPeerConnection, "_RTCPeerConnection__createTransceiver", "_stream_id"),
        (RTCRtpReceiver, "receive", RTX_SSRC),
        (RTCRtpSender, "_handle_rtcp_packet", "_send_keyframe"),
        (RTCRtpSender, "_send_keyframe", ""),
        (RTCRtpSender, "_handle_rtcp_packet", "_retransmit"),
        (RTCRtpSender, "_run_rtcp", SENDER_NTP),
        (RTCRtpSender, "_run_rtcp", SENDER_RTP),
        (RTCRtpSender, "_run_rtcp", SENDER_OCTETS),
        (RTCRtpSender, "_run_rtcp", SENDER_PACKETS),
        (RTCDtlsTransport, "_send_rtp", "_tx_srtp"),
        (RTCDtlsTransport, "_send_rtp", "_state"),
        (RTCDtlsTransport, "_send_rtp", DTLS_TX_BYTES),
        (RTCDtlsTransport, "_send_rtp", DTLS_TX_PACKETS),
        (RTCIceTransport, "start", "_connection"),
        (aioice_ice.Connection, "sendto", "_nominated"),
        (aioice_ice.StunProtocol, "send_data", "transport"),
        (aioice_ice.Connection, "gather_candidates", "get_host_addresses"),
        (aioice_ice, "get_host_addresses", ""),
    ]
    for owner, attribute, name in required:
        code = getattr(getattr(owner, attribute, None), "__code__", None)
        if code is None or (name and name not in code.co_names):
            where = f"{getattr(owner, '__name__', owner)}.{attribute}"
            uses = f" using {name}" if name else ""
            raise MediaError(
                "unsupported",
                f"aiortc/aioice internals changed ({where}{uses} not found); "
                "the SFU needs aiortc==1.16.0",
            )
    if "audio_level" not in getattr(HeaderExtensions, "__dataclass_fields__", {}):
        raise MediaError("unsupported", "aiortc RTP header extensions have no audio_level")


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    chosen = _gather_addresses.get()
    if chosen is None:
        return _aioice_get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
    return list(chosen)


@contextlib.contextmanager
def gather_on(addresses: Sequence[str]) -> Iterator[None]:
    """Make ICE gathering started inside this block use exactly `addresses` (empty: aioice's).

    Wrap `setLocalDescription` in it: aiortc gathers there, in tasks that inherit this context.
    """
    aioice_ice.get_host_addresses = _get_host_addresses
    token = _gather_addresses.set(tuple(addresses) if addresses else None)
    try:
        yield
    finally:
        _gather_addresses.reset(token)


class _EncodedTap:
    """Stands in for the receiver's `queue.Queue` between its RTP path and decoder thread."""

    def __init__(self, sink: FrameSink, on_end: Callable[[], None]) -> None:
        self._sink = sink
        self._on_end = on_end

    def put(self, item: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        # Called on the event loop by _handle_rtp_packet, and with None when the receiver stops.
        if item is None:
            self._on_end()
        else:
            self._sink(*item)

    def get(self) -> None:
        # The decoder thread's first get(): None makes it exit before creating a decoder.
        return None


def tap_receiver(
    receiver: RTCRtpReceiver,
    sink: FrameSink,
    on_end: Callable[[], None],
    on_loss: Callable[[], None] | None = None,
    on_packet: Callable[[RtpPacket], None] | None = None,
) -> None:
    """Route a receiver's encoded frames to `sink`; call in the `track` event, before receive().

    `sink(codec, frame)` is called on the event loop for each reassembled frame, in order;
    `on_end` when the receiver stops. `on_loss` is called when aiortc's jitter buffer gives up
    on lost packets and asks the publisher for a keyframe itself: frames are missing, so the
    next ones cannot be decoded until that keyframe. `on_packet` gets each RTP packet as it
    arrives, before aiortc handles it (and holds audio in its jitter buffer).
    """
    setattr(receiver, DECODER_QUEUE, _EncodedTap(sink, on_end))
    if on_loss is not None:
        _report_losses(receiver, on_loss)
    if on_packet is None:
        return
    handle = receiver._handle_rtp_packet

    async def handle_after(packet: RtpPacket, arrival_time_ms: int) -> None:
        on_packet(packet)
        await handle(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle_after  # type: ignore[method-assign]


def _report_losses(receiver: RTCRtpReceiver, on_loss: Callable[[], None]) -> None:
    send_pli = _own_pli[receiver] = receiver._send_rtcp_pli

    async def pli_after_loss(media_ssrc: int) -> None:
        on_loss()
        await send_pli(media_ssrc)

    receiver._send_rtcp_pli = pli_after_loss  # type: ignore[method-assign]


def missing_packets(receiver: RTCRtpReceiver) -> int:
    """How many packets a video receiver is still waiting for (0 for audio: no NACKs)."""
    nacks: NackGenerator | None = getattr(receiver, NACK_GENERATOR)
    return len(nacks.missing) if nacks is not None else 0


def send_nack_again(receiver: RTCRtpReceiver) -> Awaitable[None] | None:
    """Ask the publisher again for every packet a video receiver still misses (RTCP NACK), or
    None if it misses none."""
    nacks: NackGenerator | None = getattr(receiver, NACK_GENERATOR)
    sources = media_ssrcs(receiver)
    if nacks is None or not nacks.missing or not sources:
        return None
    result: Awaitable[None] = receiver._send_rtcp_nack(sources[0], sorted(nacks.missing))
    return result


def forget_missing_packets(receiver: RTCRtpReceiver) -> None:
    """Empty a video receiver's jitter buffer and its list of packets to NACK.

    aiortc's video jitter buffer hands frames on strictly in sequence, and its NACK generator
    asks for a missing packet again only when a new gap appears: one retransmission lost on a
    quiet network holds every later frame back until 512 packets have piled up (many seconds).
    After this the next packet starts the buffer afresh, as after aiortc's own resets.
    """
    buffer: JitterBuffer = getattr(receiver, JITTER_BUFFER)
    if buffer._origin is not None:
        buffer.remove(buffer.capacity)
        buffer._origin = None
    nacks: NackGenerator | None = getattr(receiver, NACK_GENERATOR)
    if nacks is not None:
        nacks.missing.clear()


def is_tapped(receiver: RTCRtpReceiver) -> bool:
    """Tell whether `tap_receiver` replaced this receiver's decoder queue (used by tests)."""
    return isinstance(getattr(receiver, DECODER_QUEUE, None), _EncodedTap)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` instead of forcing an encoder keyframe when the remote sends PLI or FIR."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def on_nack(sender: RTCRtpSender, retransmit: Callable[[int], Awaitable[None]]) -> None:
    """Call `retransmit(sequence_number)` for each packet the remote reports lost (RTCP NACK)."""
    sender._retransmit = retransmit  # type: ignore[method-assign,assignment]


def on_send(sender: RTCRtpSender, started: Callable[[int, RTCRtpSendParameters], None]) -> None:
    """Call `started(ssrc, parameters)` once aiortc starts the sender with its negotiated
    parameters (after DTLS connects); a renegotiation calls it again with the new ones."""
    send = sender.send

    async def send_and_tell(parameters: RTCRtpSendParameters) -> None:
        await send(parameters)
        started(sender._ssrc, parameters)

    sender.send = send_and_tell  # type: ignore[method-assign]


def rtp_writer(sender: RTCRtpSender) -> RtpWriter:
    """A function that SRTP-protects one serialized RTP packet and sends it on the sender's
    transport at once; it raises ConnectionError if the packet cannot go out (the transport is
    not connected, or SRTP refuses the packet).

    It does what `RTCDtlsTransport._send_rtp` does, without the four coroutines between it and
    the socket (aiortc's ICE transport, aioice's `send`, `sendto` and `send_data`): every ICE
    pair's protocol is aioice's `StunProtocol`, whose transport is the UDP socket's, or for a
    relayed candidate a `TurnTransport` whose own `sendto` wraps the data for the TURN server.
    Call it once the sender has started (DTLS is connected, so the SRTP session exists).
    """
    dtls = sender.transport
    srtp = dtls._tx_srtp
    nominated = dtls.transport._connection._nominated
    counters = vars(dtls)

    def write(data: bytes) -> None:
        pair = nominated.get(1)
        if dtls._state is not DtlsState.CONNECTED or pair is None:
            raise ConnectionError("the subscriber's transport is not connected")
        try:
            protected = srtp.protect(data)
        except pylibsrtp.Error as exc:  # e.g. a retransmission older than the replay window
            raise ConnectionError(f"SRTP refused the packet: {exc}") from exc
        pair.protocol.transport.sendto(protected, pair.remote_addr)
        counters[DTLS_TX_BYTES] += len(protected)
        counters[DTLS_TX_PACKETS] += 1

    return write


def count_sent(
    sender: RTCRtpSender, ntp_timestamp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """Record packets the SFU sent for this sender, so its RTCP sender reports (which receivers
    use for lip sync and round-trip time) and its stats tell the truth."""
    state = vars(sender)
    state[SENDER_NTP] = ntp_timestamp
    state[SENDER_RTP] = rtp_timestamp
    state[SENDER_PACKETS] += packets
    state[SENDER_OCTETS] += octets


def media_ssrcs(receiver: RTCRtpReceiver) -> list[int]:
    """The ssrcs the receiver heard media on lately, first heard first, without retransmission
    ssrcs (browsers probe bandwidth with RTX padding, often before any media packet)."""
    rtx: dict[int, int] = getattr(receiver, RTX_SSRC, {})
    return [s.source for s in receiver.getSynchronizationSources() if s.source not in rtx]


def is_retransmission(receiver: RTCRtpReceiver, packet: RtpPacket) -> bool:
    """Whether a packet came on one of the receiver's retransmission (RTX) ssrcs."""
    return packet.ssrc in getattr(receiver, RTX_SSRC, {})


def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> Awaitable[None]:
    """Send an RTCP PLI for `media_ssrc` from the receiver (no-op before its RTCP ssrc is set);
    unlike aiortc's own after a loss, it does not call `on_loss`."""
    send = _own_pli.get(receiver, receiver._send_rtcp_pli)
    result: Awaitable[None] = send(media_ssrc)
    return result


def own_stream(sender: RTCRtpSender) -> None:
    """Give the sender a media stream id (msid) of its own, before the offer is made.

    aiortc puts every sender of a connection in one stream, and browsers synchronise the first
    video with the first audio of a stream: with slots carrying different people, that would
    delay one person's video to match another's voice."""
    sender._stream_id = str(uuid.uuid4())
