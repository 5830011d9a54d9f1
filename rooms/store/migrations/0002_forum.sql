-- The forum: threads (each room has one chat thread), posts with edit history, reactions,
-- reports, mutes, read marks, mentions and the moderation audit log.

CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    pinned INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    post_count INTEGER NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    deleted_at DOUBLE PRECISION
);
CREATE INDEX threads_room ON threads (room_id, created_at);

CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    author_id TEXT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    html TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    edited_at DOUBLE PRECISION,
    hidden INTEGER NOT NULL DEFAULT 0,
    deleted_at DOUBLE PRECISION,
    deleted_by TEXT REFERENCES users (id)
);
CREATE INDEX posts_thread ON posts (thread_id, seq);
CREATE UNIQUE INDEX posts_room_seq ON posts (room_id, seq);

CREATE TABLE post_edits (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    edited_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX post_edits_post ON post_edits (post_id);

CREATE TABLE reactions (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id, emoji)
);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    reporter_id TEXT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    resolved_at DOUBLE PRECISION,
    resolved_by TEXT REFERENCES users (id),
    resolution TEXT
);
CREATE INDEX reports_room ON reports (room_id, resolved_at);

CREATE TABLE mutes (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE thread_reads (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    last_read_seq BIGINT NOT NULL,
    PRIMARY KEY (user_id, thread_id)
);

CREATE TABLE mentions (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    actor_id TEXT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX audit_log_room ON audit_log (room_id, created_at);
