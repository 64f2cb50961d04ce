-- admin schema, part 4: per-tenant grants, quotas, settings and access.
-- tenant_user_roles / tenant_user_permissions are the platform grants' counterparts keyed by
-- tenant (ADR 0012's effective permissions join them when a tenant is in scope).

create table admin.tenant_user_roles (
  tenant_id uuid not null references admin.tenants (id) on delete cascade,
  user_id uuid not null references admin.platform_users (id) on delete cascade,
  role_id integer not null references admin.platform_roles (id) on delete cascade,
  granted_by uuid references admin.platform_users (id) on delete set null,
  granted_reason text,
  granted_at timestamptz not null default now(),
  expires_at timestamptz,
  is_active boolean not null default true,
  primary key (tenant_id, user_id, role_id)
);
create index tenant_user_roles_user_idx on admin.tenant_user_roles (user_id);
create index tenant_user_roles_role_idx on admin.tenant_user_roles (role_id);

create table admin.tenant_user_permissions (
  tenant_id uuid not null references admin.tenants (id) on delete cascade,
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
  primary key (tenant_id, user_id, permission_id)
);
create index tenant_user_permissions_user_idx on admin.tenant_user_permissions (user_id);

-- The mirror of the platform triggers in 0001: per-tenant grants hold tenant-level roles and
-- permissions only, so a tenant grant can never smuggle in platform power.
create function admin.check_tenant_role_level() returns trigger language plpgsql as $$
begin
  if (select role_level from admin.platform_roles where id = new.role_id) <> 'tenant' then
    raise exception 'role % is not a tenant role', new.role_id using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger tenant_user_roles_level before insert or update on admin.tenant_user_roles
  for each row execute function admin.check_tenant_role_level();

create function admin.check_tenant_permission_scope() returns trigger language plpgsql as $$
begin
  if (select scope_level from admin.platform_permissions where id = new.permission_id) <> 'tenant' then
    raise exception 'permission % is not a tenant permission', new.permission_id
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger tenant_user_permissions_scope before insert or update on admin.tenant_user_permissions
  for each row execute function admin.check_tenant_permission_scope();

-- One row per tenant. Quotas: -1 means unlimited, otherwise a non-negative limit. Usage
-- counters are never negative. The *_used / *_active counters are maintained by the services
-- that consume them; the period columns delimit the monthly counters.
create table admin.tenant_quotas (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null unique references admin.tenants (id) on delete cascade,
  storage_quota_gb numeric(12, 2) not null default 1.0 check (storage_quota_gb >= -1),
  storage_used_gb numeric(14, 3) not null default 0 check (storage_used_gb >= 0),
  files_quota integer not null default 10000 check (files_quota >= -1),
  files_used integer not null default 0 check (files_used >= 0),
  backup_retention_days integer not null default 30 check (backup_retention_days >= -1),
  users_quota integer not null default 5 check (users_quota >= -1),
  users_active integer not null default 0 check (users_active >= 0),
  admin_users_quota integer not null default 2 check (admin_users_quota >= -1),
  guest_users_quota integer not null default 10 check (guest_users_quota >= -1),
  api_calls_monthly bigint not null default 10000 check (api_calls_monthly >= -1),
  api_calls_current_month bigint not null default 0 check (api_calls_current_month >= 0),
  api_rate_limit_per_minute integer not null default 100 check (api_rate_limit_per_minute >= -1),
  bandwidth_quota_gb numeric(12, 2) not null default 10 check (bandwidth_quota_gb >= -1),
  bandwidth_used_gb numeric(14, 3) not null default 0 check (bandwidth_used_gb >= 0),
  integrations_quota integer not null default 3 check (integrations_quota >= -1),
  integrations_active integer not null default 0 check (integrations_active >= 0),
  workflows_quota integer not null default 10 check (workflows_quota >= -1),
  webhooks_quota integer not null default 5 check (webhooks_quota >= -1),
  custom_fields_quota integer not null default 50 check (custom_fields_quota >= -1),
  database_connections_quota integer not null default 10 check (database_connections_quota >= -1),
  database_size_quota_gb numeric(12, 2) not null default 1 check (database_size_quota_gb >= -1),
  quota_period_start timestamptz not null default now(),
  quota_period_end timestamptz not null default now() + interval '1 month',
  last_reset_at timestamptz,
  storage_overage_allowed boolean not null default false,
  bandwidth_overage_allowed boolean not null default false,
  warning_threshold_percentage smallint not null default 80
    check (warning_threshold_percentage between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tenant_quotas_period_order check (quota_period_end > quota_period_start)
);

create table admin.tenant_settings (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null references admin.tenants (id) on delete cascade,
  setting_key varchar(100) not null check (setting_key ~ '^[a-z][a-z0-9_.-]*$'),
  setting_value jsonb not null,
  setting_type varchar(20) not null default 'string'
    check (setting_type in ('string', 'number', 'boolean', 'json', 'encrypted')),
  category varchar(50) not null default 'general',
  subcategory varchar(50),
  is_public boolean not null default false,
  is_readonly boolean not null default false,
  requires_admin boolean not null default false,
  description text,
  validation_schema jsonb,
  updated_by uuid references admin.platform_users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, setting_key),
  -- The value matches its declared type. An encrypted setting is a JSON string holding the
  -- same `v1:<keyId>:...` ciphertext as database passwords, and is never public.
  constraint tenant_settings_value_matches_type
    check (case setting_type
             when 'string' then jsonb_typeof(setting_value) = 'string'
             when 'number' then jsonb_typeof(setting_value) = 'number'
             when 'boolean' then jsonb_typeof(setting_value) = 'boolean'
             when 'json' then true
             when 'encrypted' then jsonb_typeof(setting_value) = 'string'
                                   and (setting_value #>> '{}') like 'v1:%' and not is_public
           end)
);

-- Who may act in a tenant at all (the auth code's "tenant access" check); what they may do
-- there comes from tenant_user_roles / tenant_user_permissions.
create table admin.tenant_access_grants (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null references admin.tenants (id) on delete cascade,
  user_id uuid not null references admin.platform_users (id) on delete cascade,
  access_level varchar(10) not null default 'read'
    check (access_level in ('read', 'write', 'admin', 'owner')),
  access_scope text[] not null default '{}',
  granted_by uuid references admin.platform_users (id) on delete set null,
  granted_reason text,
  grant_type varchar(10) not null default 'manual'
    check (grant_type in ('manual', 'auto', 'inherited', 'sso')),
  granted_at timestamptz not null default now(),
  expires_at timestamptz,
  is_active boolean not null default true,
  last_accessed_at timestamptz,
  access_count bigint not null default 0 check (access_count >= 0),
  ip_restrictions inet[],
  time_restrictions jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  revoked_at timestamptz,
  unique (tenant_id, user_id),
  -- A revoked grant is inactive; re-granting reactivates the row and clears revoked_at.
  constraint tenant_access_grants_revoked_inactive check (revoked_at is null or not is_active)
);
create index tenant_access_grants_user_idx on admin.tenant_access_grants (user_id) where is_active;

create trigger tenant_quotas_updated_at before update on admin.tenant_quotas
  for each row execute function platform_common.update_updated_at_column();
create trigger tenant_settings_updated_at before update on admin.tenant_settings
  for each row execute function platform_common.update_updated_at_column();
create trigger tenant_access_grants_updated_at before update on admin.tenant_access_grants
  for each row execute function platform_common.update_updated_at_column();
