-- A thread's post count and last sequence number are the database's own bookkeeping, kept by
-- triggers as posts are inserted and deleted (SQLite; 0008_thread_counts.postgres.sql is the
-- PostgreSQL version). A post's write then touches no row that another post's write touches,
-- so a store may write several posts of one room as one statement.

CREATE TRIGGER posts_count_insert AFTER INSERT ON posts BEGIN
    UPDATE threads SET post_count = post_count + 1, last_seq = MAX(last_seq, new.seq)
    WHERE id = new.thread_id;
END;

CREATE TRIGGER posts_count_delete AFTER UPDATE OF deleted_at ON posts
WHEN old.deleted_at IS NULL AND new.deleted_at IS NOT NULL BEGIN
    UPDATE threads SET post_count = post_count - 1 WHERE id = new.thread_id;
END;
