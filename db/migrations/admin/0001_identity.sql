-- admin schema, part 1: enums and the identity and authorization tables.
-- Keycloak authenticates; these tables authorize. Permission codes are `resource:action`
-- (docs/decisions/0012-permission-codes.md); `resource:*` grants every action of one resource.

create schema if not exists admin;

create type admin.auth_provider as enum
  ('keycloak', 'auth0', 'authelia', 'authentik', 'azure', 'google', 'custom');
create type admin.platform_role_level as enum ('system', 'platform', 'tenant');
create type admin.permission_scope_level as enum ('platform', 'tenant', 'user');
create type admin.risk_level as enum ('low', 'medium', 'high', 'critical');

create table admin.platform_users (
  id uuid primary key default platform_common.uuid_generate_v7(),
  email varchar(320) not null unique
    check (email ~* '^[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}$'),
  username varchar(39) not null unique,
  external_id varchar(255) unique,
  first_name varchar(100),
  last_name varchar(100),
  display_name varchar(150),
  avatar_url varchar(2048),
  phone varchar(20),
  timezone varchar(50) not null default 'UTC',
  locale varchar(10) not null default 'en-US',
  external_auth_provider admin.auth_provider not null default 'keycloak',
  external_user_id varchar(255) not null,
  is_active boolean not null default true,
  is_superadmin boolean not null default false,
  last_login_at timestamptz,
  provider_metadata jsonb not null default '{}',
  is_onboarding_completed boolean not null default false,
  profile_completion_percentage smallint not null default 0
    check (profile_completion_percentage between 0 and 100),
  notification_preferences jsonb not null default '{}',
  ui_preferences jsonb not null default '{}',
  job_title varchar(150),
  departments varchar(255)[] not null default '{}',
  company varchar(255),
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  unique (external_auth_provider, external_user_id)
);
create index platform_users_active_idx on admin.platform_users (is_active) where deleted_at is null;

create table admin.platform_permissions (
  id integer generated always as identity primary key,
  code varchar(100) not null unique
    check (code ~ '^[a-z][a-z0-9_.]*:([a-z][a-z0-9_]*|\*)$'),
  description text,
  resource varchar(50) not null,
  action varchar(50) not null,
  scope_level admin.permission_scope_level not null default 'platform',
  is_dangerous boolean not null default false,
  requires_mfa boolean not null default false,
  requires_approval boolean not null default false,
  -- Where the row came from: `seed`, or `route` when a route declared it (synced at start).
  source varchar(20) not null default 'seed' check (source in ('seed', 'route', 'api')),
  permissions_config jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  check (code = resource || ':' || action)
);

create table admin.platform_roles (
  id integer generated always as identity primary key,
  code varchar(100) not null unique check (code ~ '^[a-z0-9_-]+$'),
  name varchar(150) not null,
  display_name varchar(200),
  description text,
  role_level admin.platform_role_level not null default 'platform',
  priority integer not null default 100 check (priority between 0 and 1000),
  is_system boolean not null default false,
  is_default boolean not null default false,
  max_assignees integer check (max_assignees is null or max_assignees > 0),
  tenant_scoped boolean not null default false,
  requires_approval boolean not null default false,
  role_config jsonb not null default '{}',
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz
);

create table admin.role_permissions (
  role_id integer not null references admin.platform_roles (id) on delete cascade,
  permission_id integer not null references admin.platform_permissions (id) on delete cascade,
  granted_at timestamptz not null default now(),
  primary key (role_id, permission_id)
);
create index role_permissions_permission_idx on admin.role_permissions (permission_id);

create table admin.platform_user_roles (
  user_id uuid not null references admin.platform_users (id) on delete cascade,
  role_id integer not null references admin.platform_roles (id) on delete cascade,
  granted_by uuid references admin.platform_users (id) on delete set null,
  granted_reason text,
  granted_at timestamptz not null default now(),
  expires_at timestamptz,
  is_active boolean not null default true,
  primary key (user_id, role_id)
);
create index platform_user_roles_role_idx on admin.platform_user_roles (role_id);

create table admin.platform_user_permissions (
  user_id uuid not null references admin.platform_users (id) on delete cascade,
  permission_id integer not null references admin.platform_permissions (id) on delete cascade,
  is_granted boolean not null default true,
  is_active boolean not null default true,
  granted_at timestamptz not null default now(),
  expires_at timestamptz,
  granted_by uuid references admin.platform_users (id) on delete set null,
  granted_reason text,
  revoked_by uuid references admin.platform_users (id) on delete set null,
  revoked_reason text,
  primary key (user_id, permission_id)
);

-- Platform grants hold platform-level roles and permissions only; tenant-level ones are
-- granted per tenant (tenant_user_roles / tenant_user_permissions, with the tenants tables).
create function admin.check_platform_role_level() returns trigger language plpgsql as $$
begin
  if (select role_level from admin.platform_roles where id = new.role_id) not in ('system', 'platform') then
    raise exception 'role % is not a platform role', new.role_id using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger platform_user_roles_level before insert or update on admin.platform_user_roles
  for each row execute function admin.check_platform_role_level();

create function admin.check_platform_permission_scope() returns trigger language plpgsql as $$
begin
  if (select scope_level from admin.platform_permissions where id = new.permission_id) <> 'platform' then
    raise exception 'permission % is not a platform permission', new.permission_id
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger platform_user_permissions_scope before insert or update on admin.platform_user_permissions
  for each row execute function admin.check_platform_permission_scope();

create table admin.api_rate_limits (
  id integer generated always as identity primary key,
  limit_name varchar(100) not null unique,
  limit_type varchar(20) not null check (limit_type in ('user', 'tenant', 'ip', 'api_key', 'global')),
  requests_per_window integer not null check (requests_per_window > 0),
  window_size_seconds integer not null check (window_size_seconds > 0),
  burst_allowance integer not null default 0 check (burst_allowance >= 0),
  applies_to_users uuid[],
  applies_to_tenants uuid[],
  applies_to_endpoints text[],
  is_active boolean not null default true,
  enforce_strict boolean not null default false,
  block_duration_seconds integer not null default 300,
  send_alert boolean not null default false,
  alert_threshold_percentage integer not null default 90 check (alert_threshold_percentage between 1 and 100),
  description text,
  created_by uuid references admin.platform_users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger platform_users_updated_at before update on admin.platform_users
  for each row execute function platform_common.update_updated_at_column();
create trigger platform_permissions_updated_at before update on admin.platform_permissions
  for each row execute function platform_common.update_updated_at_column();
create trigger platform_roles_updated_at before update on admin.platform_roles
  for each row execute function platform_common.update_updated_at_column();
create trigger api_rate_limits_updated_at before update on admin.api_rate_limits
  for each row execute function platform_common.update_updated_at_column();
