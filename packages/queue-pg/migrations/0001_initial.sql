-- The Underway schema. `{{schema}}` stands for the validated, quoted schema name; runMigrations
-- substitutes it and runs this file inside one transaction, under an advisory lock.

create type {{schema}}.task_state as enum ('pending', 'in_progress', 'succeeded', 'cancelled', 'failed');

create type {{schema}}.task_retry_policy as (
  max_attempts        integer,
  initial_interval_ms integer,
  max_interval_ms     integer,
  backoff_coefficient double precision,
  jitter_factor       double precision
);

create table {{schema}}.task_queue (
  name       text primary key,
  dlq_name   text references {{schema}}.task_queue (name),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- No foreign key to task_queue: enqueue stays a pure append, and dead-lettered rows move freely.
create table {{schema}}.task (
  id                  uuid not null,
  task_queue_name     text not null,
  input               jsonb not null,
  output              jsonb,
  state               {{schema}}.task_state not null default 'pending',
  timeout             interval not null default interval '15 minutes',
  ttl                 interval not null default interval '14 days',
  delay               interval not null default interval '0',
  heartbeat           interval not null default interval '30 seconds',
  retry_policy        {{schema}}.task_retry_policy not null
                        default row(5, 1000, 60000, 2.0, 0.5)::{{schema}}.task_retry_policy,
  concurrency_key     text,
  dedupe_key          text,
  correlation_id      text,
  priority            integer not null default 0,
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  completed_at        timestamptz,
  last_attempt_at     timestamptz,
  last_heartbeat_at   timestamptz,
  run_at              timestamptz not null default now(),
  attempt_count       integer not null default 0,
  current_attempt     integer not null default 0,
  lease_expires_at    timestamptz,
  cancel_requested_at timestamptz,
  scheduled_for       timestamptz,
  primary key (task_queue_name, id),
  constraint task_attempt_counters_valid check (attempt_count >= current_attempt and current_attempt >= 0)
);

-- Task ids are global: taskGet and cancel find a task without knowing its queue.
create unique index task_id_key on {{schema}}.task (id);

-- Exactly the claim order, restricted to claimable rows, so a claim reads the index in order.
create index task_claim_pending_idx on {{schema}}.task (task_queue_name, priority desc, run_at, created_at, id)
  where state = 'pending';

-- The lease-expiry scan: reclaims and the failing of exhausted attempts.
create index task_lease_expiry_idx on {{schema}}.task (task_queue_name, lease_expires_at)
  where state = 'in_progress';

-- Single-flight enqueue: at most one live task per (queue, dedupe key).
create unique index task_dedupe_key_live_key on {{schema}}.task (task_queue_name, dedupe_key)
  where dedupe_key is not null and state in ('pending', 'in_progress');

-- Strict serialisation: never two running tasks of one (queue, concurrency key), even when
-- claimers race; the claim statement filters candidates so this rarely fires.
create unique index task_concurrency_key_running_key on {{schema}}.task (task_queue_name, concurrency_key)
  where concurrency_key is not null and state = 'in_progress';

-- The claim's "is an earlier task of this key still waiting?" probe.
create index task_concurrency_key_pending_idx on {{schema}}.task
  (task_queue_name, concurrency_key, priority desc, run_at, created_at, id)
  where concurrency_key is not null and state = 'pending';

create index task_correlation_idx on {{schema}}.task (task_queue_name, correlation_id)
  where correlation_id is not null;

-- TTL pruning looks at finished tasks only, by completion time.
create index task_finished_completed_at_idx on {{schema}}.task (completed_at)
  where state in ('succeeded', 'failed', 'cancelled');

create table {{schema}}.task_attempt (
  task_id         uuid not null,
  task_queue_name text not null,
  attempt_number  integer not null,
  state           {{schema}}.task_state not null default 'in_progress',
  error_message   text,
  started_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  completed_at    timestamptz,
  primary key (task_queue_name, task_id, attempt_number),
  constraint task_attempt_task_fkey foreign key (task_queue_name, task_id)
    references {{schema}}.task (task_queue_name, id) on delete cascade
);

create table {{schema}}.task_schedule (
  task_queue_name text primary key references {{schema}}.task_queue (name) on delete cascade,
  schedule        text not null,
  timezone        text not null,
  input           jsonb not null,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  last_fired_at   timestamptz
);

-- One row per schedule occurrence enqueued: the key that makes a double fire impossible.
create table {{schema}}.task_schedule_fire (
  task_queue_name text not null,
  fire_at         timestamptz not null,
  task_id         uuid,
  created_at      timestamptz not null default now(),
  primary key (task_queue_name, fire_at)
);

create index task_schedule_fire_created_at_idx on {{schema}}.task_schedule_fire (created_at);
