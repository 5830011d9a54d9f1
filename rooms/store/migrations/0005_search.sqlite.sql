-- Full-text search over thread titles and post bodies (SQLite FTS5; a PostgreSQL store adds its
-- own tsvector version of this migration as 0005_search.postgres.sql).

CREATE VIRTUAL TABLE posts_fts USING fts5 (
    body, content = 'posts', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF body ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO posts_fts (rowid, body) VALUES (new.rowid, new.body);
END;

CREATE VIRTUAL TABLE threads_fts USING fts5 (
    title, content = 'threads', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER threads_fts_insert AFTER INSERT ON threads BEGIN
    INSERT INTO threads_fts (rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER threads_fts_delete AFTER DELETE ON threads BEGIN
    INSERT INTO threads_fts (threads_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
CREATE TRIGGER threads_fts_update AFTER UPDATE OF title ON threads BEGIN
    INSERT INTO threads_fts (threads_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO threads_fts (rowid, title) VALUES (new.rowid, new.title);
END;
