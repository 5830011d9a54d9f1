-- Full-text search over thread titles and post bodies (PostgreSQL; SQLite has its FTS5 version in
-- 0005_search.sqlite.sql). Words are folded (lower case, no diacritics) on both sides, with the
-- 'simple' configuration: no stemming and no stop words, as with FTS5's unicode61 tokenizer.

CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is only STABLE (its dictionary could change); generated columns need IMMUTABLE, and
-- naming the dictionary and schema makes this wrapper independent of search_path.
CREATE FUNCTION twinrooms_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

ALTER TABLE posts ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', twinrooms_fold(body))) STORED;
CREATE INDEX posts_search ON posts USING GIN (search);

ALTER TABLE threads ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', twinrooms_fold(title))) STORED;
CREATE INDEX threads_search ON threads USING GIN (search);
