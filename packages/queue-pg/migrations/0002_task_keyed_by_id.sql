-- Tasks are keyed by their id alone. The composite key (task_queue_name, id) and the unique index
-- on id were two unique indexes over the same rows; every state change of a task (a claim, a
-- completion) is an update that writes a new entry into each of them. One is enough: the id is
-- globally unique, and queue-scoped lookups filter on the queue alongside it.

alter table {{schema}}.task_attempt drop constraint task_attempt_task_fkey;
alter table {{schema}}.task drop constraint task_pkey;
alter table {{schema}}.task add constraint task_pkey primary key using index task_id_key;

-- Attempt rows follow their task by id; dead-lettering moves the queue name of both.
alter table {{schema}}.task_attempt add constraint task_attempt_task_fkey
  foreign key (task_id) references {{schema}}.task (id) on delete cascade;
