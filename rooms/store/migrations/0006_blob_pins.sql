-- A blob's row is pinned while an upload stores its bytes, so a collection cannot take it away
-- meanwhile; a negative value marks a row whose bytes a collection is deleting (rooms/blob_refs.py).

ALTER TABLE blobs ADD COLUMN pinned_until DOUBLE PRECISION NOT NULL DEFAULT 0;
