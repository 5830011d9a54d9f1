"""Selective forwarding unit on aiortc: forwards encoded RTP media between session participants.

See `Sfu` for the API. Nothing here imports the server or the domain packages.
"""

from .errors import MediaError
from .model import (
    OfferNeeded,
    ParticipantGone,
    SfuConfig,
    SfuEvent,
    SlotInfo,
    SlotsChanged,
    SpeakersChanged,
    TrackInfo,
)
from .sfu import Sfu

__all__ = [
    "MediaError",
    "OfferNeeded",
    "ParticipantGone",
    "Sfu",
    "SfuConfig",
    "SfuEvent",
    "SlotInfo",
    "SlotsChanged",
    "SpeakersChanged",
    "TrackInfo",
]
