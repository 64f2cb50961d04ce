-- admin schema, part 6 (ours, not in the original): the audit log of every change made
-- through the API, and the store behind `Idempotency-Key`.

-- No foreign keys on purpose: an entry must outlive the user, tenant or row it describes,
-- and a write must never fail because of its own audit entry. actor_username and the
-- before/after images keep the entry readable after those are gone.
create table admin.audit_log (
  id uuid primary key default platform_common.uuid_generate_v7(),
  occurred_at timestamptz not null default now(),
  actor_type admin.actor_type not null,
  actor_id uuid,
  actor_username text,
  tenant_id uuid,
  organization_id uuid,
  -- `<resource>.<verb>`, e.g. `organizations.create`, `tenants.update_status`.
  action varchar(100) not null check (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  resource_type varchar(50) not null,
  resource_id text,
  -- Row images as the API returns them: secrets (passwords, client secrets) are left out by
  -- the writer, as they are from responses.
  before jsonb,
  after jsonb,
  reason varchar(500),
  request_id varchar(64),
  ip inet
);
-- Newest first with a (occurred_at, id) cursor; id breaks ties within one timestamp.
create index audit_log_occurred_idx on admin.audit_log (occurred_at desc, id desc);
create index audit_log_resource_idx on admin.audit_log (resource_type, resource_id, occurred_at desc);
create index audit_log_actor_idx on admin.audit_log (actor_id, occurred_at desc)
  where actor_id is not null;
create index audit_log_tenant_idx on admin.audit_log (tenant_id, occurred_at desc)
  where tenant_id is not null;

-- Entries are written once and never edited. Deletion stays possible for retention purges.
create function admin.refuse_audit_log_update() returns trigger language plpgsql as $$
begin
  raise exception 'audit log entries are immutable' using errcode = 'insufficient_privilege';
end
$$;
create trigger audit_log_immutable before update on admin.audit_log
  for each row execute function admin.refuse_audit_log_update();

-- A replayed request with the same key and principal gets the stored response; the same key
-- with a different request (method, path or body hash) is a conflict. `in_progress` rows mark
-- a request still running, so a concurrent retry waits or gets 409 instead of running twice.
create table admin.idempotency_keys (
  -- Who sent it: a platform user id, or another principal's id (API client, service), as text.
  -- Keys are per principal, so one caller cannot replay or probe another's responses.
  principal_id varchar(255) not null check (length(principal_id) > 0),
  key varchar(255) not null check (length(key) > 0),
  method varchar(10) not null check (method in ('POST', 'PUT', 'PATCH', 'DELETE')),
  path varchar(2048) not null,
  -- SHA-256 (hex) of the canonical request body.
  request_hash char(64) not null check (request_hash ~ '^[0-9a-f]{64}$'),
  status varchar(12) not null default 'in_progress' check (status in ('in_progress', 'completed')),
  response_status smallint check (response_status between 100 and 599),
  -- The enveloped body as sent (responses never carry secrets).
  response_body jsonb,
  response_headers jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  expires_at timestamptz not null default now() + interval '24 hours',
  primary key (principal_id, key),
  constraint idempotency_keys_completed_has_response
    check ((status = 'completed') = (response_status is not null and completed_at is not null)),
  constraint idempotency_keys_expiry_order check (expires_at > created_at)
);
create index idempotency_keys_expires_idx on admin.idempotency_keys (expires_at);
