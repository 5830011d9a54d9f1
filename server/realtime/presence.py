"""Who is online in each room, counting several tabs of one user once."""

from __future__ import annotations

from typing import Any


class Presence:
    """Per room: each online user's member record and the sockets they have open there."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, dict[str, Any]]] = {}
        self._sockets: dict[str, dict[str, set[str]]] = {}

    def add(self, room_id: str, sid: str, member: dict[str, Any]) -> bool:
        """Count `sid` as the member's in the room; True when that changed who is online (the
        member was not, or their record changed), False for another tab or a re-join."""
        online = self._rooms.setdefault(room_id, {})
        changed = online.get(member["id"]) != member
        online[member["id"]] = member
        self._sockets.setdefault(room_id, {}).setdefault(member["id"], set()).add(sid)
        return changed

    def remove(self, room_id: str, sid: str) -> bool:
        """Forget `sid` in the room; True when that changed who is online."""
        sockets = self._sockets.get(room_id, {})
        for user_id, sids in list(sockets.items()):
            if sid in sids:
                sids.discard(sid)
                if not sids:
                    del sockets[user_id]
                    del self._rooms[room_id][user_id]
                    if not sockets:
                        del self._sockets[room_id]
                        del self._rooms[room_id]
                    return True
        return False

    def drop_socket(self, sid: str) -> list[str]:
        """Forget `sid` everywhere; the rooms whose online users changed."""
        return [room_id for room_id in list(self._sockets) if self.remove(room_id, sid)]

    def sockets_of(self, room_id: str, user_id: str) -> list[str]:
        return sorted(self._sockets.get(room_id, {}).get(user_id, ()))

    def all_sockets(self, room_id: str) -> list[str]:
        return sorted(sid for sids in self._sockets.get(room_id, {}).values() for sid in sids)

    def sockets_in(self, room_id: str) -> bool:
        """Whether any socket here is in the room's presence."""
        return room_id in self._sockets

    def room_ids(self) -> list[str]:
        """The rooms with someone online on this node."""
        return list(self._rooms)

    def users(self, room_id: str) -> list[dict[str, Any]]:
        return list(self._rooms.get(room_id, {}).values())

    def payload(self, room_id: str) -> dict[str, Any]:
        return {"room_id": room_id, "users": self.users(room_id)}

    def room_count(self) -> int:
        return len(self._rooms)
