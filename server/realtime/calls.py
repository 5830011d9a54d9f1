"""Live calls on this node: who sits in each room's live session, the lobby, and the SFU's events.

A call is the in-process side of a room's live session (`rooms.sessions`): the sockets admitted to
it (each one an SFU participant with an id of its own, never the socket id), pupils waiting in the
lobby, raised hands, teacher mutes and the lock. Everything here is per node, like the SFU; in a
cluster the session's media home holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

from aiohttp import web

from media.sfu import (
    MediaError,
    OfferNeeded,
    ParticipantGone,
    Sfu,
    SfuConfig,
    SfuEvent,
    SlotsChanged,
    SpeakersChanged,
)
from rooms.errors import Conflict, Forbidden, NotFound
from rooms.ids import new_id
from rooms.models import User
from rooms.policy import Action, may
from rooms.rooms import Rooms
from rooms.sessions import LiveSession, LiveSessions
from server.realtime.call_state import KINDS, Call, Seat, media_errors
from server.realtime.hub import Caller, Hub

log = logging.getLogger(__name__)
CLOSE_SECONDS = 2.0  # how long a stopping node waits for media events still in flight


class Home(Protocol):
    """The media home of a cluster node (`server/cluster/home.py`): who holds each session."""

    async def take(self, session_id: str, room_id: str) -> dict[str, Any] | None:
        """Claim the session for this node and return its mirrored policy (None: a new call);
        `Elsewhere` when another node holds it."""
        ...

    def alive(self, caller: Caller) -> bool:
        """Whether a socket forwarded from another node is still connected there."""
        ...

    def mirror(self, call: Call) -> None:
        """The call's policy changed: copy it where the next home finds it."""
        ...

    async def release(self, session_id: str) -> None:
        """The session ended here: give its claim and policy up."""
        ...

    def ended(self, session_id: str, room_id: str) -> None:
        """The session ended on this node: tell its home, wherever it is."""
        ...

    async def leaving(self, calls: list[Call]) -> None:
        """This node stops: give every claim up and tell the participants to join again."""
        ...


class Calls:
    """Admits sockets to live sessions, relays their signalling to the SFU and back, and tidies
    up when a socket goes, a member is removed from the room or the session ends."""

    def __init__(self, hub: Hub, rooms: Rooms, sessions: LiveSessions, config: SfuConfig) -> None:
        self.hub = hub
        self.rooms = rooms
        self.sessions = sessions
        self.sfu = Sfu(config, self.on_sfu_event)
        self.calls: dict[str, Call] = {}  # by room id
        self._ended: set[str] = set()  # session ids ended here, never to be reopened by a join
        self._tasks: set[asyncio.Task[Any]] = set()
        self.home: Home | None = None  # set in a cluster: sessions are claimed by one node

    async def call_for(self, caller: Caller, room_id: str, role: str) -> Call | None:
        """The room's call; a teacher joining a room with no live session starts the one planned
        around now, or a new one. None when no session is live and the caller may not start one:
        they wait for a teacher, and join again when the session's start reaches the room."""
        call = self.calls.get(room_id)
        if call is not None:
            return call
        session = await self.sessions.live(room_id)
        if session is None:
            # A start committed while the session was read has opened the call meanwhile.
            call = self.calls.get(room_id)
            if call is not None or not may(role, Action.START_SESSION):
                return call
            due = await self.sessions.due(room_id)
            try:
                session = await self.sessions.start(caller.user, room_id, due.id if due else None)
            except Conflict:
                # Another teacher started it a moment ago: join theirs.
                session = await self.sessions.live(room_id)
                if session is None:
                    raise
        if session.id in self._ended:  # it ended while this join was reading it
            raise NotFound("live session", room_id)
        policy = None
        if self.home is not None and room_id not in self.calls:
            policy = await self.home.take(session.id, room_id)  # `Elsewhere` if not ours
        call = self.calls.get(room_id)
        if call is None:
            call = self.calls[room_id] = Call(room_id, session)
            if policy is not None:  # a failover: mutes, lock, lobby and spotlight still hold
                call.restore(policy)
        return call

    def live(self, room_id: str) -> Call:
        """The room's call, or `NotFound` when nobody has joined its live session here."""
        call = self.calls.get(room_id)
        if call is None:
            raise NotFound("live session", room_id)
        return call

    def seat(self, caller: Caller, room_id: str) -> tuple[Call, Seat]:
        """The caller's seat in the room's call; `NotFound` if this socket has not joined it."""
        call = self.live(room_id)
        seat = call.seats.get(caller.sid)
        if seat is None:
            raise NotFound("participant", caller.sid)
        return call, seat

    def current(self, call: Call) -> bool:
        """Whether `call` is still this room's live call (not ended, not replaced)."""
        return not call.ended and self.calls.get(call.room_id) is call

    async def sit(self, call: Call, caller: Caller, role: str) -> Seat:
        """Admit a socket: a new SFU participant, and attendance from the user's first seat; a
        user sits once, so a seat the user holds through another socket is replaced.

        The caller has awaited everything it checks; from here to the new seat nothing awaits, so
        a session that ended or a socket that went meanwhile cannot get a seat.
        """
        seat = call.seats.get(caller.sid)
        if seat is not None:
            return seat
        if not self.current(call):
            raise NotFound("live session", call.room_id)
        if not self.connected(caller):
            raise NotFound("participant", caller.sid)
        seat = Seat(caller.sid, new_id(), caller.user.id, role)
        with media_errors():
            self.sfu.join(call.session.id, seat.participant_id, seat.user_id)
        replaced = call.seats_of(seat.user_id)
        call.seats[caller.sid] = seat
        call.waiting.pop(caller.sid, None)
        if replaced:
            await self._replace(call, replaced, seat)
        else:
            if call.spotlight == seat.user_id:  # a spotlight kept across a change of home
                with contextlib.suppress(MediaError):
                    self.sfu.spotlight(call.session.id, seat.participant_id)
            await self.sessions.attend(call.session.id, seat.user_id)
            await self.broadcast_state(call)
        return seat

    def connected(self, caller: Caller) -> bool:
        """Whether the caller's socket is still there: on this node, or (forwarded in a cluster)
        on its own node, which reports the sockets that go."""
        if caller.node is None:
            return self.hub.connected(caller.sid)
        return self.home is not None and self.home.alive(caller)

    async def _replace(self, call: Call, old: list[Seat], seat: Seat) -> None:
        """One seat per user: a join from another socket (a new tab, a reconnect) takes over.

        The old sockets are told (`media:replaced`) and their SFU participants close; the user
        stays in the call without a break, so attendance, hands and mutes carry over, and a
        spotlight moves to the new seat.
        """
        for stale in old:
            notice = {
                "room_id": call.room_id,
                "session_id": call.session.id,
                "participant_id": stale.participant_id,
            }
            await self.hub.emit("media:replaced", notice, to=stale.sid)
            await self.drop(call, stale)  # broadcasts the new state and tracks
        if call.spotlight == seat.user_id and seat.sid in call.seats:
            with contextlib.suppress(MediaError):
                self.sfu.spotlight(call.session.id, seat.participant_id)

    async def publish(self, call: Call, seat: Seat, sdp: str, sources: Mapping[str, str]) -> str:
        """Answer a publishing offer; a teacher's earlier mute holds for tracks added later."""
        role = await self.rooms.role(call.room_id, seat.user_id)  # as it is now, not at join
        if role is None or not may(role, Action.PUBLISH_MEDIA):
            raise Forbidden(
                "Guests watch and listen; they do not send media.", reason="guest_media"
            )
        with media_errors():
            answer = await self.sfu.publish(call.session.id, seat.participant_id, sdp, sources)
            for kind in KINDS:
                if seat.user_id in call.muted[kind]:
                    self.sfu.mute(call.session.id, seat.participant_id, kind)
        await self.broadcast_tracks(call)
        return answer

    async def subscribe(self, call: Call, seat: Seat) -> dict[str, Any]:
        """Open the seat's receiving connection: the SFU's offer and what each m-line shows."""
        with media_errors():
            sdp = await self.sfu.subscribe(call.session.id, seat.participant_id)
            latest = self.sfu.announced_slots(call.session.id, seat.participant_id)
        return {"sdp": sdp, **slots_payload(latest)}

    async def answer(self, call: Call, seat: Seat, sdp: str) -> None:
        """Apply the client's answer to the SFU's latest offer."""
        with media_errors():
            await self.sfu.answer(call.session.id, seat.participant_id, sdp)

    async def live_session_id(self, room_id: str) -> str:
        """The id of the room's live session (`NotFound` if none is live)."""
        session = await self.sessions.live(room_id)
        if session is None:
            raise NotFound("live session", room_id)
        return session.id

    async def drop(self, call: Call, seat: Seat) -> None:
        """Take a seat away: its SFU participant goes, and the user leaves with their last seat."""
        if call.seats.pop(seat.sid, None) is None:
            return
        with contextlib.suppress(MediaError):  # already gone if its connection failed
            await self.sfu.remove(call.session.id, seat.participant_id)
        if not call.seats_of(seat.user_id):
            call.hands.discard(seat.user_id)
            if call.spotlight == seat.user_id:
                call.spotlight = None
            await self.sessions.leave(call.session.id, seat.user_id)
        if not call.seats:
            # An empty call keeps no SFU tasks running; the next join reopens its media.
            await self.sfu.end_session(call.session.id)
        if self.current(call):  # an ended call's last word was its end notice
            await self.broadcast_tracks(call)
            await self.broadcast_state(call)

    async def end(self, user: User, session_id: str, room_id: str | None = None) -> LiveSession:
        """End a live session (teachers): its summary is posted, every connection closes.

        With `room_id`, only a session of that room."""
        session = await self.sessions.end(user, session_id, room_id)
        await self.close_session(session.id, session.room_id)
        if self.home is not None:  # the call may live on another node
            self.home.ended(session.id, session.room_id)
        return session

    async def close_session(self, session_id: str, room_id: str) -> None:
        """A session has ended: close its call on this node and tell the room."""
        self._ended.add(session_id)
        call = self.calls.get(room_id)
        if call is not None and call.session.id == session_id:
            del self.calls[room_id]
            call.ended = True
        else:
            call = None
        await self.sfu.end_session(session_id)
        if self.home is not None:
            await self.home.release(session_id)
        if call is not None:
            ended = {**call.state(), "participants": [], "ended": True}
            await self.hub.emit("media:state", ended, room=call.room_id)

    async def leave(self, sid: str, room_id: str) -> None:
        """A socket leaves the room's call: its seat or its place in the lobby goes."""
        call = self.calls.get(room_id)
        if call is None:
            return
        if call.waiting.pop(sid, None) is not None:
            await self.broadcast_state(call)
        seat = call.seats.get(sid)
        if seat is not None:
            await self.drop(call, seat)

    async def socket_gone(self, sid: str) -> None:
        """A socket disconnected: it leaves every call it was in or waiting for."""
        for room_id in list(self.calls):
            await self.leave(sid, room_id)

    async def member_removed(self, room_id: str, user_id: str) -> None:
        """A member was removed from the room: they lose their media and their lobby place."""
        call = self.calls.get(room_id)
        if call is None:
            return
        call.admitted.discard(user_id)
        call.returning.discard(user_id)
        for sid in [sid for sid, user in call.waiting.items() if user == user_id]:
            del call.waiting[sid]
        for seat in call.seats_of(user_id):
            await self.drop(call, seat)
        await self.broadcast_state(call)

    async def role_changed(self, room_id: str, user_id: str, role: str) -> None:
        """A member's role changed: their seats carry the new role, and a member who may no
        longer send media (demoted to guest) leaves the call, to rejoin as a watcher."""
        call = self.calls.get(room_id)
        if call is None:
            return
        for seat in call.seats_of(user_id):
            if may(role, Action.PUBLISH_MEDIA):
                call.seats[seat.sid] = dataclasses.replace(seat, role=role)
            else:
                await self.drop(call, seat)

    async def room_deleted(self, room_id: str) -> None:
        """The room is gone (its sessions with it): close its call's media on this node."""
        call = self.calls.pop(room_id, None)
        if call is not None:
            call.ended = True
            self._ended.add(call.session.id)
            await self.sfu.end_session(call.session.id)
            if self.home is not None:
                await self.home.release(call.session.id)

    async def broadcast_state(self, call: Call) -> None:
        """Tell the room the call's state; every change of its policy passes here."""
        if self.home is not None:
            self.home.mirror(call)
        await self.hub.emit("media:state", call.state(), room=call.room_id)

    def tracks(self, call: Call) -> list[dict[str, Any]]:
        if call.session.id not in self.sfu.session_ids():
            return []
        return [dataclasses.asdict(track) for track in self.sfu.tracks(call.session.id)]

    async def broadcast_tracks(self, call: Call) -> None:
        payload: dict[str, Any] = {"room_id": call.room_id, "session_id": call.session.id}
        payload["tracks"] = self.tracks(call)
        await self.hub.emit("media:tracks", payload, room=call.room_id)

    def on_sfu_event(self, event: SfuEvent) -> None:
        """The SFU's listener: runs on the loop and must not block, so each emit is a task."""
        if isinstance(event, SpeakersChanged):
            self._speakers_changed(event)
            return
        found = self._find(event.session_id, event.participant_id)
        if found is None:
            return
        call, seat = found
        base = {"room_id": call.room_id, "session_id": call.session.id}
        if isinstance(event, OfferNeeded):
            self._spawn(self.hub.emit("media:offer", {**base, "sdp": event.sdp}, to=seat.sid))
        elif isinstance(event, SlotsChanged):
            payload = {**base, **slots_payload(event)}
            self._spawn(self.hub.emit("media:slots", payload, to=seat.sid))
        elif isinstance(event, ParticipantGone):
            self._spawn(self.drop(call, seat))

    def _speakers_changed(self, event: SpeakersChanged) -> None:
        call = self._call_of(event.session_id)
        if call is None:
            return
        speaking = sorted(
            {s.user_id for s in call.seats.values() if s.participant_id in event.participant_ids}
        )
        payload = {"room_id": call.room_id, "session_id": call.session.id, "speaking": speaking}
        self._spawn(self.hub.emit("media:speaking", payload, room=call.room_id))

    def _call_of(self, session_id: str) -> Call | None:
        return next((c for c in self.calls.values() if c.session.id == session_id), None)

    def _find(self, session_id: str, participant_id: str) -> tuple[Call, Seat] | None:
        call = self._call_of(session_id)
        if call is None:
            return None
        seat = next((s for s in call.seats.values() if s.participant_id == participant_id), None)
        return None if seat is None else (call, seat)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("media event failed", exc_info=task.exception())

    async def close(self) -> None:
        """Let pending emits and drops finish (briefly), then close every SFU session (the node
        is stopping)."""
        if self.home is not None:  # another node takes the calls over at once
            await self.home.leaving(list(self.calls.values()))
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for call in self.calls.values():  # everyone seated here leaves now, in the attendance too
            for user_id in {seat.user_id for seat in call.seats.values()}:
                try:
                    await self.sessions.leave(call.session.id, user_id)
                except Exception:  # a stopping node still closes every connection
                    log.exception("could not record a departure at stop")
        self.calls.clear()
        await self.sfu.close()


def slots_payload(announced: SlotsChanged) -> dict[str, Any]:
    """`slots` and their `version`, as `media:slots` and the `media:subscribe` ack carry them."""
    slots = [dataclasses.asdict(slot) for slot in announced.slots]
    return {"slots": slots, "version": announced.version}


CALLS = web.AppKey("calls", Calls)
