-- A session summary's facts as JSON beside its English Markdown, so that each client words the
-- summary in its reader's language and time zone (rooms/summary.py): on the summary thread (the
-- session's title and times) and on its first post (who attended, the chat, the files). NULL for
-- every other thread and post, and again once the summary's title or text is edited by hand.

ALTER TABLE threads ADD COLUMN summary TEXT;
ALTER TABLE posts ADD COLUMN summary TEXT;
