-- admin schema, part 5: system alerts, and the bookkeeping of migrations run across the
-- regional and tenant databases (batches, their per-target details, schedules, rollbacks,
-- locks). The original only named most of these; columns and CHECKs marked "ours" are our
-- design (ADR 0015).

create table admin.system_alerts (
  id uuid primary key default platform_common.uuid_generate_v7(),
  alert_name varchar(100) not null,
  alert_type varchar(50) not null,
  severity admin.risk_level not null default 'medium',
  -- What raised it (ours: e.g. `database_connection`, `region`, `tenant`, `migration_batch`,
  -- `service`) and that thing's id, as text because not every source has a UUID.
  source_type varchar(50),
  source_id varchar(255),
  region_id uuid references admin.regions (id) on delete set null,
  tenant_id uuid references admin.tenants (id) on delete set null,
  title varchar(200) not null,
  description text,
  resolution_steps text,
  status varchar(20) not null default 'open'
    check (status in ('open', 'acknowledged', 'investigating', 'resolved', 'closed')),
  acknowledged_by uuid references admin.platform_users (id) on delete set null,
  acknowledged_at timestamptz,
  resolved_by uuid references admin.platform_users (id) on delete set null,
  resolved_at timestamptz,
  escalated_by uuid references admin.platform_users (id) on delete set null,
  escalated_at timestamptz,
  first_occurred_at timestamptz not null default now(),
  last_occurred_at timestamptz not null default now(),
  occurrence_count integer not null default 1 check (occurrence_count >= 1),
  escalation_level smallint not null default 1 check (escalation_level between 1 and 5),
  notification_count integer not null default 0 check (notification_count >= 0),
  last_notification_at timestamptz,
  suppress_notifications_until timestamptz,
  affected_systems text[] not null default '{}',
  impact_description text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint system_alerts_occurrence_order check (last_occurred_at >= first_occurred_at),
  constraint system_alerts_resolved_stamped check (status <> 'resolved' or resolved_at is not null),
  constraint system_alerts_acknowledged_stamped
    check (status <> 'acknowledged' or acknowledged_at is not null)
);
-- Ours: one unresolved alert per (name, source). A recurrence bumps occurrence_count and
-- last_occurred_at of that row (insert ... on conflict) instead of opening another.
create unique index system_alerts_open_key
  on admin.system_alerts (alert_name, source_type, source_id) nulls not distinct
  where status in ('open', 'acknowledged', 'investigating');
create index system_alerts_unresolved_idx on admin.system_alerts (severity, last_occurred_at desc)
  where status in ('open', 'acknowledged', 'investigating');
create index system_alerts_region_idx on admin.system_alerts (region_id);
create index system_alerts_tenant_idx on admin.system_alerts (tenant_id);

-- Scope of a batch or schedule (ours): which databases' migrations it runs.
--   admin: the admin database; regional: platform_common and tenant_template of regional
--   databases; tenant: tenant schemas; analytics: analytics databases; all: every one of them.

-- Ours: either recurring (a five-field cron expression read in `timezone`) or one-off (run_at).
create table admin.migration_schedules (
  id uuid primary key default platform_common.uuid_generate_v7(),
  schedule_name varchar(100) not null unique,
  description text,
  scope varchar(20) not null check (scope in ('admin', 'regional', 'tenant', 'analytics', 'all')),
  -- Same shape as migration_batches.target_filters; copied into each batch it starts.
  target_filters jsonb not null default '{}',
  cron_expression varchar(100) check (cron_expression ~ '^\S+(\s+\S+){4}$'),
  run_at timestamptz,
  timezone varchar(50) not null default 'UTC',
  -- How long a started run may take before it is reported as overrunning.
  max_duration_minutes integer not null default 60 check (max_duration_minutes between 1 and 1440),
  is_active boolean not null default true,
  requires_approval boolean not null default false,
  approved_by uuid references admin.platform_users (id) on delete set null,
  approved_at timestamptz,
  last_run_at timestamptz,
  next_run_at timestamptz,
  created_by uuid references admin.platform_users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint migration_schedules_cron_or_run_at
    check ((cron_expression is null) <> (run_at is null)),
  constraint migration_schedules_approval_stamped
    check ((approved_by is null) = (approved_at is null))
);
create index migration_schedules_due_idx on admin.migration_schedules (next_run_at) where is_active;

create table admin.migration_batches (
  id uuid primary key default platform_common.uuid_generate_v7(),
  batch_name varchar(200) not null,
  -- manual, scheduled (started by a schedule), deployment (started by a release), rollback
  -- (runs migration_rollbacks), dynamic (targets resolved from target_filters when it starts,
  -- so tenants created meanwhile are included).
  batch_type varchar(20) not null default 'manual'
    check (batch_type in ('manual', 'scheduled', 'deployment', 'rollback', 'dynamic')),
  scope varchar(20) not null check (scope in ('admin', 'regional', 'tenant', 'analytics', 'all')),
  status varchar(20) not null default 'pending'
    check (status in ('pending', 'running', 'completed', 'partial', 'failed', 'canceled')),
  schedule_id uuid references admin.migration_schedules (id) on delete set null,
  region_id uuid references admin.regions (id) on delete set null,
  -- Ours: {"region_ids": [...], "connection_ids": [...], "tenant_ids": [...],
  -- "tenant_statuses": [...]}; empty means every target of the scope.
  target_filters jsonb not null default '{}',
  -- Migration file names to apply; empty means every pending one.
  migration_names text[] not null default '{}',
  dry_run boolean not null default false,
  total_databases integer not null default 0 check (total_databases >= 0),
  total_schemas integer not null default 0 check (total_schemas >= 0),
  successful_count integer not null default 0 check (successful_count >= 0),
  failed_count integer not null default 0 check (failed_count >= 0),
  skipped_count integer not null default 0 check (skipped_count >= 0),
  error_message text,
  created_by uuid references admin.platform_users (id) on delete set null,
  started_at timestamptz,
  completed_at timestamptz,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint migration_batches_started_stamped
    check (status = 'pending' or status = 'canceled' or started_at is not null),
  constraint migration_batches_completed_stamped
    check (status not in ('completed', 'partial', 'failed', 'canceled') or completed_at is not null),
  constraint migration_batches_time_order
    check (completed_at is null or started_at is null or completed_at >= started_at)
);
create index migration_batches_status_idx on admin.migration_batches (status, created_at desc);
create index migration_batches_schedule_idx on admin.migration_batches (schedule_id);

-- One row per target (a database, or a schema in it) of a batch.
create table admin.migration_batch_details (
  id uuid primary key default platform_common.uuid_generate_v7(),
  batch_id uuid not null references admin.migration_batches (id) on delete cascade,
  -- Restrict: a connection with migration history is soft-deleted, never removed.
  database_connection_id uuid references admin.database_connections (id) on delete restrict,
  tenant_id uuid references admin.tenants (id) on delete set null,
  database_name varchar(63) not null,
  -- Null: the target is the database as a whole (admin, analytics, regional shared schemas).
  schema_name varchar(63),
  status varchar(20) not null default 'pending'
    check (status in ('pending', 'running', 'completed', 'failed', 'skipped', 'rolled_back')),
  migrations_applied text[] not null default '{}',
  started_at timestamptz,
  completed_at timestamptz,
  execution_time_ms integer check (execution_time_ms >= 0),
  error_message text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- A target appears once per batch.
  constraint migration_batch_details_target_key
    unique nulls not distinct (batch_id, database_connection_id, database_name, schema_name),
  constraint migration_batch_details_failed_has_error
    check (status <> 'failed' or error_message is not null),
  constraint migration_batch_details_time_order
    check (completed_at is null or started_at is null or completed_at >= started_at)
);
create index migration_batch_details_connection_idx
  on admin.migration_batch_details (database_connection_id);
create index migration_batch_details_tenant_idx on admin.migration_batch_details (tenant_id);
create index migration_batch_details_failed_idx on admin.migration_batch_details (batch_id)
  where status = 'failed';

create table admin.migration_rollbacks (
  id uuid primary key default platform_common.uuid_generate_v7(),
  -- The batch whose work is undone, and (once started) the `rollback` batch undoing it.
  batch_id uuid not null references admin.migration_batches (id) on delete restrict,
  batch_detail_id uuid references admin.migration_batch_details (id) on delete set null,
  rollback_batch_id uuid references admin.migration_batches (id) on delete set null,
  migration_name varchar(255) not null,
  -- Ours: the compensating script shipped in the repository, by name. SQL text is never
  -- stored here nor accepted through the API: that would be remote code execution by design.
  script_name varchar(255) not null check (script_name ~ '^[A-Za-z0-9_./-]+\.sql$' and script_name !~ '\.\.'),
  reason text not null check (length(btrim(reason)) > 0),
  status varchar(20) not null default 'pending'
    check (status in ('pending', 'approved', 'running', 'completed', 'failed', 'canceled')),
  requested_by uuid references admin.platform_users (id) on delete set null,
  approved_by uuid references admin.platform_users (id) on delete set null,
  approved_at timestamptz,
  started_at timestamptz,
  completed_at timestamptz,
  error_message text,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint migration_rollbacks_approved_stamped
    check (status not in ('approved', 'running', 'completed', 'failed') or approved_at is not null),
  constraint migration_rollbacks_failed_has_error
    check (status <> 'failed' or error_message is not null),
  constraint migration_rollbacks_time_order
    check (completed_at is null or started_at is null or completed_at >= started_at)
);
create index migration_rollbacks_batch_idx on admin.migration_rollbacks (batch_id);

-- Mutual exclusion for migration work on one resource (a connection, a schema, `admin`...),
-- across instances and runtimes. Rows rather than advisory locks: a lock must survive the
-- session that took it (Workers have no long sessions) and be visible to operators.
-- A lock lasts at most one hour from its acquisition or last renewal, so a crashed holder
-- blocks nobody for long.
create table admin.migration_locks (
  resource_key varchar(255) primary key check (length(resource_key) > 0),
  -- Who holds it: one id per job (e.g. `batch:<uuid>` or `instance:<id>:<job>`).
  locked_by varchar(255) not null check (length(locked_by) > 0),
  batch_id uuid references admin.migration_batches (id) on delete set null,
  locked_at timestamptz not null default now(),
  renewed_at timestamptz,
  expires_at timestamptz not null,
  metadata jsonb not null default '{}',
  constraint migration_locks_max_one_hour
    check (expires_at > coalesce(renewed_at, locked_at)
           and expires_at <= coalesce(renewed_at, locked_at) + interval '1 hour')
);
create index migration_locks_expires_idx on admin.migration_locks (expires_at);

-- True when the caller now holds the lock. An expired lock is taken over; a live one, even
-- the caller's own, is not (acquiring twice is a bug in the caller; renew instead).
-- Concurrent callers serialise on the primary key: exactly one insert wins.
-- clock_timestamp(), not now(): a caller inside a long transaction must not get a lock that
-- is already partly spent.
create function admin.acquire_migration_lock(
  p_resource_key varchar,
  p_locked_by varchar,
  p_ttl_seconds integer default 900,
  p_batch_id uuid default null
) returns boolean language plpgsql as $$
declare
  v_now timestamptz := clock_timestamp();
begin
  if p_ttl_seconds is null or p_ttl_seconds not between 1 and 3600 then
    raise exception 'lock ttl must be between 1 and 3600 seconds, got %', p_ttl_seconds
      using errcode = 'invalid_parameter_value';
  end if;
  delete from admin.migration_locks where resource_key = p_resource_key and expires_at <= v_now;
  insert into admin.migration_locks (resource_key, locked_by, batch_id, locked_at, expires_at)
  values (p_resource_key, p_locked_by, p_batch_id, v_now, v_now + make_interval(secs => p_ttl_seconds))
  on conflict (resource_key) do nothing;
  return found;
end
$$;

-- Ours: extends a live lock its holder still has (a long batch renews before expiry). False
-- when the lock expired or belongs to someone else: the caller must stop.
create function admin.renew_migration_lock(
  p_resource_key varchar,
  p_locked_by varchar,
  p_ttl_seconds integer default 900
) returns boolean language plpgsql as $$
declare
  v_now timestamptz := clock_timestamp();
begin
  if p_ttl_seconds is null or p_ttl_seconds not between 1 and 3600 then
    raise exception 'lock ttl must be between 1 and 3600 seconds, got %', p_ttl_seconds
      using errcode = 'invalid_parameter_value';
  end if;
  update admin.migration_locks
     set renewed_at = v_now, expires_at = v_now + make_interval(secs => p_ttl_seconds)
   where resource_key = p_resource_key and locked_by = p_locked_by and expires_at > v_now;
  return found;
end
$$;

-- Releases the caller's own lock. False when the caller did not hold it (any more): a lock
-- that had expired is removed, but its holder learns that it ran unprotected for a while.
create function admin.release_migration_lock(p_resource_key varchar, p_locked_by varchar)
returns boolean language plpgsql as $$
declare
  v_expires_at timestamptz;
begin
  delete from admin.migration_locks
   where resource_key = p_resource_key and locked_by = p_locked_by
  returning expires_at into v_expires_at;
  return v_expires_at is not null and v_expires_at > clock_timestamp();
end
$$;

-- Removes expired locks; returns how many. Acquisition does not need it (it takes over an
-- expired lock itself): it keeps v_active_migration_locks and the table tidy.
create function admin.cleanup_expired_locks() returns integer language plpgsql as $$
declare
  v_removed integer;
begin
  delete from admin.migration_locks where expires_at <= clock_timestamp();
  get diagnostics v_removed = row_count;
  return v_removed;
end
$$;

create view admin.v_migration_status_overview as
select
  b.id as batch_id,
  b.batch_name,
  b.batch_type,
  b.scope,
  b.status,
  b.dry_run,
  b.total_databases,
  b.total_schemas,
  count(d.id) as targets,
  count(d.id) filter (where d.status = 'pending') as pending_targets,
  count(d.id) filter (where d.status = 'running') as running_targets,
  count(d.id) filter (where d.status = 'completed') as completed_targets,
  count(d.id) filter (where d.status = 'failed') as failed_targets,
  count(d.id) filter (where d.status = 'skipped') as skipped_targets,
  count(d.id) filter (where d.status = 'rolled_back') as rolled_back_targets,
  case when count(d.id) = 0 then null
       else round(100.0 * count(d.id) filter (where d.status not in ('pending', 'running'))
                  / count(d.id), 1)
  end as progress_percentage,
  b.started_at,
  b.completed_at,
  coalesce(b.completed_at, now()) - b.started_at as elapsed,
  b.created_by,
  b.created_at
from admin.migration_batches b
left join admin.migration_batch_details d on d.batch_id = b.id
group by b.id;

create view admin.v_active_migration_locks as
select
  l.resource_key,
  l.locked_by,
  l.batch_id,
  b.batch_name,
  b.status as batch_status,
  l.locked_at,
  l.renewed_at,
  l.expires_at,
  l.expires_at - now() as time_remaining,
  now() - l.locked_at as held_for
from admin.migration_locks l
left join admin.migration_batches b on b.id = l.batch_id
where l.expires_at > now();

create view admin.v_failed_migrations as
select
  d.id as detail_id,
  d.batch_id,
  b.batch_name,
  b.scope,
  d.database_connection_id,
  c.connection_name,
  r.code as region_code,
  d.database_name,
  d.schema_name,
  d.tenant_id,
  t.slug as tenant_slug,
  d.migrations_applied,
  d.error_message,
  d.started_at,
  d.completed_at,
  d.execution_time_ms
from admin.migration_batch_details d
join admin.migration_batches b on b.id = d.batch_id
left join admin.database_connections c on c.id = d.database_connection_id
left join admin.regions r on r.id = c.region_id
left join admin.tenants t on t.id = d.tenant_id
where d.status = 'failed';

create trigger system_alerts_updated_at before update on admin.system_alerts
  for each row execute function platform_common.update_updated_at_column();
create trigger migration_schedules_updated_at before update on admin.migration_schedules
  for each row execute function platform_common.update_updated_at_column();
create trigger migration_batches_updated_at before update on admin.migration_batches
  for each row execute function platform_common.update_updated_at_column();
create trigger migration_batch_details_updated_at before update on admin.migration_batch_details
  for each row execute function platform_common.update_updated_at_column();
create trigger migration_rollbacks_updated_at before update on admin.migration_rollbacks
  for each row execute function platform_common.update_updated_at_column();
