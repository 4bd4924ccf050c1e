-- messages_thread (thread_id) was created with the messages table, but no
-- query reads messages by thread: a thread's replies reach clients as
-- channel events. Every message send still updated it (one more page per
-- commit on SQLite, one more index entry on PostgreSQL), so it goes.
DROP INDEX messages_thread;
