-- The shared file archive: content-addressed blobs with reference counts, files with versions,
-- and folders (explicit ones; a file's folder exists implicitly).

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    refs INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at DOUBLE PRECISION NOT NULL,
    deleted_at DOUBLE PRECISION,
    deleted_by TEXT REFERENCES users (id)
);
CREATE INDEX files_room ON files (room_id, folder, name);

CREATE TABLE file_versions (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size BIGINT NOT NULL,
    mime TEXT NOT NULL,
    uploader_id TEXT NOT NULL REFERENCES users (id),
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (file_id, version)
);
CREATE INDEX file_versions_sha256 ON file_versions (sha256);
CREATE INDEX file_versions_room ON file_versions (room_id);

CREATE TABLE folders (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (room_id, path)
);
