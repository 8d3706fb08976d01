-- A task's current attempt is described by the task row itself (current_attempt, last_attempt_at,
-- state, completed_at) while it runs and when it succeeds or is cancelled; task_attempt keeps a
-- row for every attempt that failed (an error, a timeout, a lost lease). A successful task then
-- costs no attempt writes: its claim and its completion each rewrite the task row alone.
--
-- task_attempt_history is every attempt, as one relation: the rows of task_attempt plus the
-- current attempt of each task whose row describes it. Read attempts from it, not from the table.

-- Rows of running attempts were written by earlier versions at each claim; the task row now
-- describes them.
delete from {{schema}}.task_attempt where state = 'in_progress';

-- Attempt rows are keyed by task id and number: the id is global (as for tasks since 0002), and
-- the key then also serves the lookups by task: reading a task's attempts, and the cascade when a
-- task is deleted.
alter table {{schema}}.task_attempt drop constraint task_attempt_pkey;
alter table {{schema}}.task_attempt add constraint task_attempt_pkey primary key (task_id, attempt_number);

create view {{schema}}.task_attempt_history as
  select a.task_id, a.task_queue_name, a.attempt_number, a.state, a.error_message,
         a.started_at, a.updated_at, a.completed_at
  from {{schema}}.task_attempt a
  union all
  select t.id, t.task_queue_name, t.current_attempt, t.state, null::text,
         t.last_attempt_at, coalesce(t.completed_at, t.last_attempt_at), t.completed_at
  from {{schema}}.task t
  where t.current_attempt > 0 and t.state in ('in_progress', 'succeeded', 'cancelled')
    and not exists (
      select 1 from {{schema}}.task_attempt a
      where a.task_id = t.id and a.attempt_number = t.current_attempt);
