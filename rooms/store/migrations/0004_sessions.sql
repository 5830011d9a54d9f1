-- Live video sessions of a room (scheduled, live, ended) and who attended them, when.
-- Portable SQL: the same file runs on SQLite and PostgreSQL. Times are seconds since the epoch.

CREATE TABLE live_sessions (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    scheduled_at DOUBLE PRECISION,
    started_at DOUBLE PRECISION,
    ended_at DOUBLE PRECISION,
    created_by TEXT NOT NULL REFERENCES users (id),
    started_by TEXT REFERENCES users (id),
    ended_by TEXT REFERENCES users (id),
    summary_thread_id TEXT REFERENCES threads (id) ON DELETE SET NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX live_sessions_room ON live_sessions (room_id, status);
-- One live session per room, held by the database itself (both engines have partial indexes).
CREATE UNIQUE INDEX live_sessions_one_live ON live_sessions (room_id) WHERE status = 'live';

CREATE TABLE session_attendance (
    session_id TEXT NOT NULL REFERENCES live_sessions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at DOUBLE PRECISION NOT NULL,
    left_at DOUBLE PRECISION
);
CREATE INDEX session_attendance_session ON session_attendance (session_id, user_id);
