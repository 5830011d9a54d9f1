"""Classroom rules of a live call: who gets in (lobby, lock), and what teachers may do to it.

Teachers (`Action.MODERATE`) mute and unmute a participant's audio, stop and allow their video,
remove them from the session, admit or turn away pupils in the lobby, lock the session, and mute
everyone they may mute at once (`mute_all`); any participant raises a hand. Audio and video follow
the forum's mute rule (`require_silence`: members and guests; the owner also teachers; nobody the
owner), except on one's own media.
Each change reaches the room as a live `moderation` event.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from media.sfu.model import Kind
from rooms.errors import Forbidden, Invalid, NotFound
from rooms.moderation import Moderation
from rooms.policy import Action, may, require_manage, require_silence
from server.config import Settings
from server.realtime.call_state import Call, media_errors
from server.realtime.calls import Calls
from server.realtime.hub import Caller
from server.realtime.ice import client_ice_servers

Effect = Callable[[Call, Caller, str, str], Awaitable[None]]  # (call, actor, role, target)
MEDIA_ACTIONS = ("mute", "unmute", "video_off", "video_on")
USER_ACTIONS = (*MEDIA_ACTIONS, "session_remove")
LOBBY_ACTIONS = ("lobby_admit", "lobby_deny")
ROOM_ACTIONS = ("lock", "unlock", "mute_all")  # no `user_id`: they act on the whole call
ACTIONS = (*USER_ACTIONS, *LOBBY_ACTIONS, *ROOM_ACTIONS)
# A teacher's control on someone else in the call, as the room's audit log names it.
AUDITED = {
    "mute": "call_mute",
    "unmute": "call_unmute",
    "video_off": "call_video_off",
    "video_on": "call_video_on",
    "session_remove": "call_remove",
}


class Classroom:
    """Joins with the room's lobby, lock and camera settings, and the teachers' controls."""

    def __init__(
        self,
        calls: Calls,
        settings: Settings,
        moderation: Moderation,
        clock: Callable[[], float] = time.time,
    ):
        self.calls = calls
        self.settings = settings
        self.moderation = moderation
        self.clock = clock
        self._effects: dict[str, Effect] = {
            "mute": self._media("audio", False),
            "unmute": self._media("audio", True),
            "video_off": self._media("video", False),
            "video_on": self._media("video", True),
            "session_remove": self._remove,
            "lobby_admit": self._lobby(admit=True),
            "lobby_deny": self._lobby(admit=False),
            "lock": self._lock(True),
            "unlock": self._lock(False),
        }

    async def enter(self, caller: Caller, room_id: str) -> None:
        """Subscribe the caller's socket to the room before `join` (on the node holding the
        socket): state, moderation and the session's start reach it from now on. Entered before
        the live session is read, a start committed after that read still reaches it."""
        await self.calls.rooms.require(caller.user, room_id, Action.JOIN_SESSION)
        await self.calls.hub.join(caller, room_id)

    async def join(self, caller: Caller, room_id: str) -> dict[str, Any]:
        """Admit the caller (whose socket has `enter`ed the room) to the room's live session,
        put a pupil in its lobby, or (no session is live, and the caller may not start one)
        tell them to wait for a teacher to start it."""
        rooms = self.calls.rooms
        role = await rooms.require(caller.user, room_id, Action.JOIN_SESSION)
        call = await self.calls.call_for(caller, room_id, role)
        if call is None:
            return {"room_id": room_id, "waiting": True, "session": None}
        settings = await rooms.settings(room_id)
        # Checked after the last await before the seat: a lock, a lobby or a removal that came
        # meanwhile counts. A socket already seated stays seated.
        role = await rooms.require(caller.user, room_id, Action.JOIN_SESSION)
        teacher = may(role, Action.MODERATE)
        seated = caller.sid in call.seats or caller.user.id in call.returning
        if call.locked and not teacher and not seated:
            raise Forbidden("The session is locked.", reason="call_locked")
        if settings["lobby"] and not (teacher or seated or caller.user.id in call.admitted):
            if not self.calls.current(call):
                raise NotFound("live session", room_id)
            call.waiting[caller.sid] = caller.user.id
            await self.calls.broadcast_state(call)
            return {**call.state(), "waiting": True, "session": call.session.to_json()}
        seat = await self.calls.sit(call, caller, role)
        return {
            **call.state(),
            "waiting": False,
            "session": call.session.to_json(),
            "participant_id": seat.participant_id,
            "ice_servers": client_ice_servers(self.settings, caller.user.id, self.clock()),
            "camera_off": bool(settings["pupils_camera_off"]) and not teacher,
            "tracks": self.calls.tracks(call),
        }

    async def moderate(
        self, caller: Caller, room_id: str, action: str, user_id: str | None
    ) -> dict[str, Any]:
        """Apply a teacher's control to the room's call and tell the room; returns what the ack
        adds (`mute_all`: `{muted: [user ids]}`)."""
        # One's own microphone and camera are one's own: any participant switches them.
        own = action in MEDIA_ACTIONS and user_id == caller.user.id
        need = Action.JOIN_SESSION if own else Action.MODERATE
        role = await self.calls.rooms.require(caller.user, room_id, need)
        if action == "mute_all":
            return await self._mute_all(caller, room_id, role)
        effect = self._effects.get(action)
        if effect is None:
            raise Invalid(
                f"action: one of {', '.join(ACTIONS)}.",
                field="action",
                rule="one_of",
                options=list(ACTIONS),
            )
        if user_id is None and action not in ROOM_ACTIONS:
            raise Invalid("user_id: required for this action.", field="user_id", rule="required")
        call = self.calls.live(room_id)
        await effect(call, caller, role, user_id or "")
        if action in USER_ACTIONS and user_id is not None and not own:
            await self.moderation.log_call_action(
                caller.user, room_id, call.session.id, AUDITED[action], user_id
            )
        notice: dict[str, Any] = {"room_id": room_id, "action": action, "by": caller.user.id}
        if user_id is not None and action not in ROOM_ACTIONS:
            notice["user_id"] = user_id
        await self.calls.hub.emit("moderation", notice, room=room_id)
        await self.calls.broadcast_state(call)
        return {}

    async def _mute_all(self, caller: Caller, room_id: str, role: str) -> dict[str, Any]:
        """Mute every participant the caller may mute (the forum's rule), never the caller: each
        one is told as by a `mute` of their own, so clients need nothing new to show it."""
        call = self.calls.live(room_id)
        targets: dict[str, str] = {}  # user id -> room role of one of their seats
        for seat in call.seats.values():
            if seat.user_id != caller.user.id and may_silence(role, seat.role):
                targets[seat.user_id] = seat.role
        mute = self._effects["mute"]
        for user_id in sorted(targets):
            await mute(call, caller, role, user_id)
            await self.moderation.log_call_action(
                caller.user, room_id, call.session.id, AUDITED["mute"], user_id
            )
        for user_id in sorted(targets):
            notice = {
                "room_id": room_id,
                "action": "mute",
                "user_id": user_id,
                "by": caller.user.id,
            }
            await self.calls.hub.emit("moderation", notice, room=room_id)
        await self.calls.broadcast_state(call)
        return {"muted": sorted(targets)}

    def _media(self, kind: Kind, on: bool) -> Effect:
        async def apply(call: Call, caller: Caller, role: str, user_id: str) -> None:
            seats = self._seats(call, user_id)
            own = user_id == caller.user.id
            muted, by_self = call.muted[kind], call.self_muted[kind]
            if not own:
                require_silence(role, seats[0].role)  # as for forum mutes
            elif (
                on
                and user_id in muted
                and user_id not in by_self
                and not may(role, Action.MODERATE)
            ):
                raise Forbidden("A teacher switched this off.", reason="switched_off")
            if on:
                muted.discard(user_id)
                by_self.discard(user_id)
            else:
                if not own:
                    by_self.discard(user_id)  # a teacher's mute holds from now on
                elif user_id not in muted:
                    by_self.add(user_id)
                muted.add(user_id)
            with media_errors():
                for seat in seats:
                    switch = self.calls.sfu.unmute if on else self.calls.sfu.mute
                    switch(call.session.id, seat.participant_id, kind)

        return apply

    async def _remove(self, call: Call, caller: Caller, role: str, user_id: str) -> None:
        seats = self._seats(call, user_id)
        require_manage(role, seats[0].role)  # only the owner removes another teacher
        call.admitted.discard(user_id)  # with the lobby on, they must be admitted again
        call.returning.discard(user_id)
        for seat in seats:
            await self.calls.drop(call, seat)

    def _lobby(self, *, admit: bool) -> Effect:
        async def apply(call: Call, caller: Caller, role: str, user_id: str) -> None:
            sids = [sid for sid, user in call.waiting.items() if user == user_id]
            if not sids:
                raise NotFound("waiting participant", user_id)
            for sid in sids:
                del call.waiting[sid]
            if admit:
                call.admitted.add(user_id)  # their client now sends `media:join` again

        return apply

    def _lock(self, locked: bool) -> Effect:
        async def apply(call: Call, caller: Caller, role: str, user_id: str) -> None:
            call.locked = locked

        return apply

    @staticmethod
    def _seats(call: Call, user_id: str) -> list[Any]:
        seats = call.seats_of(user_id)
        if not seats:
            raise NotFound("participant", user_id)
        return seats

    async def hand(self, caller: Caller, room_id: str, raised: bool, user_id: str | None) -> None:
        """Raise or lower the caller's hand; a teacher may also lower someone else's."""
        call, seat = self.calls.seat(caller, room_id)
        target = user_id or seat.user_id
        if target != seat.user_id and (raised or not may(seat.role, Action.MODERATE)):
            raise Forbidden()
        (call.hands.add if raised else call.hands.discard)(target)
        payload = {"room_id": room_id, "user_id": target, "raised": raised, "by": seat.user_id}
        await self.calls.hub.emit("media:hand", payload, room=room_id)
        await self.calls.broadcast_state(call)

    async def spotlight(self, caller: Caller, room_id: str, user_id: str | None) -> None:
        """Make everyone receive one participant's video whatever last-N says (None: nobody)."""
        await self.calls.rooms.require(caller.user, room_id, Action.MODERATE)
        call = self.calls.live(room_id)
        participant = self._seats(call, user_id)[0].participant_id if user_id else None
        with media_errors():
            self.calls.sfu.spotlight(call.session.id, participant)
        call.spotlight = user_id
        await self.calls.broadcast_state(call)


def may_silence(actor: str, target: str) -> bool:
    """Whether `require_silence` lets `actor` mute `target`."""
    try:
        require_silence(actor, target)
    except Forbidden:
        return False
    return True
