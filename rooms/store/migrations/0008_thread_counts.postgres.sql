-- A thread's post count and last sequence number are the database's own bookkeeping, kept by
-- triggers as posts are inserted and deleted (PostgreSQL; 0008_thread_counts.sqlite.sql is the
-- SQLite version). A post's write then touches no row that another post's write touches, so the
-- store may write several posts of one room as one statement: a row trigger's UPDATE is a query
-- of its own, where two parts of one statement updating the same thread row would lose one.

CREATE FUNCTION twinrooms_count_post() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE threads SET post_count = post_count + 1, last_seq = GREATEST(last_seq, NEW.seq)
        WHERE id = NEW.thread_id;
    ELSE
        UPDATE threads SET post_count = post_count - 1 WHERE id = NEW.thread_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER posts_count_insert AFTER INSERT ON posts
    FOR EACH ROW EXECUTE FUNCTION twinrooms_count_post();

CREATE TRIGGER posts_count_delete AFTER UPDATE OF deleted_at ON posts
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION twinrooms_count_post();
