-- A task moved to a dead-letter queue remembers the queue it failed in, so that it can be put back
-- there (a requeue) even when several queues share one dead-letter queue. Null for every other
-- task; a task dead-lettered before this column existed stays null: it counts as a task that
-- failed in the dead-letter queue itself.
alter table {{schema}}.task add column if not exists dead_lettered_from text;
