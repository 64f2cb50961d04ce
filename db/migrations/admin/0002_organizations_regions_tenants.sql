-- admin schema, part 2: the remaining enums, organizations, regions, regional database
-- connections, tenants and their contacts.
-- Enum values follow the original database where its code disagreed with it
-- (docs/decisions/0015-admin-schema-decisions.md).

create type admin.contact_type as enum
  ('owner', 'admin', 'billing', 'technical', 'legal', 'emergency');
-- Transitions between these are enforced by the tenants service (ADR 0015), not here: the
-- database only guarantees that `deleted` and `deleted_at` go together.
create type admin.tenant_status as enum
  ('pending', 'provisioning', 'active', 'suspended', 'migrating', 'archived', 'deleted');
create type admin.deployment_type as enum ('schema', 'database', 'dedicated');
create type admin.environment_type as enum ('development', 'staging', 'production');
create type admin.plan_tier as enum ('free', 'starter', 'professional', 'enterprise', 'custom');
create type admin.billing_cycle as enum ('monthly', 'yearly');
-- `suspended` is ours: the original's state machine and its suspended_at column need it (ADR 0015).
create type admin.subscription_status as enum
  ('trial', 'active', 'past_due', 'suspended', 'canceled', 'expired');
create type admin.invoice_status as enum ('draft', 'open', 'paid', 'void', 'uncollectible');
create type admin.line_item_type as enum ('subscription', 'usage', 'addon', 'discount', 'tax');
create type admin.connection_type as enum ('primary', 'replica', 'analytics', 'backup');
-- No column holds it yet: health-check responses report it, derived from is_healthy and
-- consecutive_failures.
create type admin.health_status as enum ('healthy', 'degraded', 'unhealthy');
create type admin.actor_type as enum ('user', 'system', 'api', 'service');
create type admin.retention_policy as enum ('standard', 'extended', 'permanent', 'immediate_delete');

-- Optimistic concurrency: `version` is the row's ETag. It moves whenever anything but
-- updated_at changes, whatever value an UPDATE tried to put in it, so a client can neither
-- rewind nor skip it; a no-op update keeps it (the representation did not change).
-- Services update with `where id = $1 and version = $expected` and read the new one back.
create function admin.bump_version() returns trigger language plpgsql as $$
begin
  if (to_jsonb(new) - 'updated_at' - 'version') is distinct from (to_jsonb(old) - 'updated_at' - 'version') then
    new.version = old.version + 1;
  else
    new.version = old.version;
  end if;
  return new;
end
$$;

create table admin.organizations (
  id uuid primary key default platform_common.uuid_generate_v7(),
  name varchar(255) not null check (length(btrim(name)) > 0),
  -- Plain UNIQUE as in the original, spanning soft-deleted rows: a slug is never reused, so
  -- links, audit entries and logs that name it stay unambiguous.
  slug varchar(100) not null unique
    check (slug ~ '^[a-z0-9][a-z0-9-]*[a-z0-9]$' and length(slug) between 2 and 100),
  legal_name varchar(255),
  tax_id varchar(50),
  business_type varchar(50),
  industry varchar(100),
  company_size varchar(20),
  website_url varchar(2048),
  primary_contact_id uuid references admin.platform_users (id) on delete set null,
  address_line1 varchar(255),
  address_line2 varchar(255),
  city varchar(100),
  state_province varchar(100),
  postal_code varchar(20),
  -- Reference codes are foreign keys: the reference seeds only ever add rows or mark them
  -- historical, never delete (ADR 0004), and every migration runs before the seeds.
  country_code char(2) references platform_common.countries (code),
  default_timezone varchar(50) not null default 'UTC',
  default_locale varchar(10) not null default 'en-US',
  default_currency char(3) not null default 'USD' references platform_common.currencies (code),
  logo_url varchar(2048),
  brand_colors jsonb not null default '{}',
  is_active boolean not null default true,
  verified_at timestamptz,
  verification_documents text[] not null default '{}',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  -- Soft delete also deactivates (API.md: DELETE sets deleted_at and is_active = false).
  constraint organizations_deleted_inactive check (deleted_at is null or not is_active)
);
create index organizations_primary_contact_idx on admin.organizations (primary_contact_id);
create index organizations_live_created_idx on admin.organizations (created_at desc, id desc)
  where deleted_at is null;

create table admin.regions (
  id uuid primary key default platform_common.uuid_generate_v7(),
  -- Provider-style codes (`us-east-1`); lowercase so lookups by code need no case folding.
  code varchar(20) not null unique check (code ~ '^[a-z0-9][a-z0-9-]*[a-z0-9]$'),
  name varchar(100) not null,
  display_name varchar(100) not null,
  country_code char(2) not null references platform_common.countries (code),
  continent varchar(20) not null,
  city varchar(100),
  timezone varchar(50) not null,
  coordinates varchar(50),
  data_residency_compliant boolean not null default true,
  gdpr_region boolean not null default false,
  compliance_certifications text[] not null default '{}',
  legal_entity varchar(255),
  is_active boolean not null default true,
  accepts_new_tenants boolean not null default true,
  capacity_percentage smallint not null default 0 check (capacity_percentage between 0 and 100),
  -- The original gave no default; 1000 is ours. current_tenants is recomputed by
  -- POST /regions/{id}/update-tenant-count, and the CHECK keeps a recount from overflowing it.
  max_tenants integer not null default 1000 check (max_tenants >= 0),
  current_tenants integer not null default 0 check (current_tenants >= 0),
  priority integer not null default 100,
  provider varchar(50),
  provider_region varchar(50),
  availability_zones text[] not null default '{}',
  primary_endpoint varchar(255) not null,
  backup_endpoints text[] not null default '{}',
  -- A CIDR block as text (varchar(18) fits `255.255.255.255/32`), as in the original.
  internal_network varchar(18) check (internal_network ~ '^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$'),
  cost_per_gb_monthly_cents bigint check (cost_per_gb_monthly_cents >= 0),
  cost_per_tenant_monthly_cents bigint check (cost_per_tenant_monthly_cents >= 0),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint regions_current_within_max check (current_tenants <= max_tenants)
);

create table admin.database_connections (
  id uuid primary key default platform_common.uuid_generate_v7(),
  region_id uuid not null references admin.regions (id) on delete restrict,
  -- UNIQUE across soft-deleted rows, like slugs: names appear in logs and migration history.
  connection_name varchar(100) not null unique
    check (connection_name ~ '^[a-z0-9][a-z0-9_-]*[a-z0-9]$'),
  connection_type admin.connection_type not null,
  host varchar(255) not null,
  port integer not null default 5432 check (port between 1 and 65535),
  database_name varchar(63) not null check (length(database_name) > 0),
  ssl_mode varchar(20) not null default 'require'
    check (ssl_mode in ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')),
  username varchar(63) not null default 'postgres',
  -- AES-GCM ciphertext `v1:<keyId>:<base64 iv>:<base64 ciphertext>`: the key id travels inside,
  -- so keys rotate without a column. The CHECK refuses anything else, plaintext included.
  -- Null when the connection authenticates otherwise (a Hyperdrive binding holds the secret).
  encrypted_password text check (
    encrypted_password ~ '^v1:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$'
  ),
  -- Name of the Cloudflare Hyperdrive binding that reaches this database on Workers (an
  -- env binding name, hence the shape). Null: not reachable from Workers.
  hyperdrive_binding varchar(64) check (hyperdrive_binding ~ '^[A-Z][A-Z0-9_]*$'),
  pool_min_size integer not null default 5,
  pool_max_size integer not null default 20,
  pool_timeout_seconds integer not null default 30,
  pool_recycle_seconds integer not null default 3600,
  pool_pre_ping boolean not null default true,
  is_active boolean not null default true,
  -- Healthy only once a check has succeeded: a connection nobody has tried is not placed on.
  is_healthy boolean not null default false,
  last_health_check timestamptz,
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  max_consecutive_failures integer not null default 3 check (max_consecutive_failures > 0),
  metadata jsonb not null default '{}',
  tags text[] not null default '{}',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  -- The original's "consistent pool config".
  constraint database_connections_pool_config
    check (pool_min_size >= 0 and pool_max_size >= 1 and pool_min_size <= pool_max_size
           and pool_timeout_seconds > 0 and pool_recycle_seconds > 0)
);
create index database_connections_region_idx on admin.database_connections (region_id);
-- One live connection per binding: a binding is one Hyperdrive config, i.e. one database. A
-- deleted connection releases its binding (binding names are deployment config, not identity).
create unique index database_connections_hyperdrive_binding_key
  on admin.database_connections (hyperdrive_binding)
  where hyperdrive_binding is not null and deleted_at is null;

create table admin.tenants (
  id uuid primary key default platform_common.uuid_generate_v7(),
  organization_id uuid not null references admin.organizations (id) on delete restrict,
  -- At most 54 (the original's limit), so `tenant_` + slug stays within PostgreSQL's 63-byte
  -- identifiers. UNIQUE spans deleted tenants: a slug is never reused.
  slug varchar(63) not null unique
    check (slug ~ '^[a-z0-9][a-z0-9-]*[a-z0-9]$' and length(slug) between 2 and 54),
  name varchar(255) not null check (length(btrim(name)) > 0),
  description text,
  -- Chosen once at creation and only ever read from here, never re-derived from the slug
  -- (ADR 0015). Never reused either: a deleted tenant's schema may still await its purge.
  -- pg_ is reserved by PostgreSQL; the others are schemas of our own.
  schema_name varchar(63) not null unique
    check (schema_name ~ '^[a-z][a-z0-9_]*$' and schema_name !~ '^pg_'
           and schema_name not in ('public', 'admin', 'platform_common', 'tenant_template',
                                   'analytics', 'information_schema')),
  database_name varchar(63),
  custom_domain varchar(253) unique
    check (custom_domain ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$'),
  deployment_type admin.deployment_type not null default 'schema',
  environment admin.environment_type not null default 'production',
  region_id uuid references admin.regions (id) on delete restrict,
  database_connection_id uuid references admin.database_connections (id) on delete restrict,
  external_auth_provider admin.auth_provider not null default 'keycloak',
  -- Whatever realm the tenant's users live in; never derived from the slug (ADR 0015). Same
  -- rule as src/integrations/keycloak/realm-name.ts: the name goes into URLs and cache keys.
  external_auth_realm varchar(100) not null
    check (external_auth_realm ~ '^[A-Za-z0-9._-]{1,64}$' and external_auth_realm not in ('.', '..')),
  external_user_id varchar(255) not null,
  -- May hold the realm client's credentials: never returned by the API nor logged.
  external_auth_metadata jsonb not null default '{}',
  allow_impersonations boolean not null default false,
  status admin.tenant_status not null default 'pending',
  internal_notes text,
  features_enabled jsonb not null default '{}',
  feature_overrides jsonb not null default '{}',
  provisioned_at timestamptz,
  activated_at timestamptz,
  suspended_at timestamptz,
  last_activity_at timestamptz,
  metadata jsonb not null default '{}',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  -- Deletion is one thing, not two that can disagree: DELETE sets both, nothing else sets either.
  constraint tenants_deleted_status check ((status = 'deleted') = (deleted_at is not null))
);
create index tenants_organization_idx on admin.tenants (organization_id);
create index tenants_region_idx on admin.tenants (region_id);
create index tenants_database_connection_idx on admin.tenants (database_connection_id);
create index tenants_live_status_idx on admin.tenants (status) where deleted_at is null;
create index tenants_live_created_idx on admin.tenants (created_at desc, id desc)
  where deleted_at is null;

create table admin.tenant_contacts (
  id uuid primary key default platform_common.uuid_generate_v7(),
  tenant_id uuid not null references admin.tenants (id) on delete cascade,
  user_id uuid not null references admin.platform_users (id) on delete cascade,
  contact_type admin.contact_type not null,
  contact_info jsonb not null default '{}',
  is_primary boolean not null default false,
  receive_notifications boolean not null default true,
  receive_billing_emails boolean not null default false,
  receive_technical_alerts boolean not null default false,
  receive_marketing_emails boolean not null default true,
  emergency_phone varchar(20),
  alternative_email varchar(320)
    check (alternative_email ~* '^[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, user_id, contact_type)
);
create index tenant_contacts_user_idx on admin.tenant_contacts (user_id);
-- Ours: at most one primary contact of each type per tenant.
create unique index tenant_contacts_one_primary_key on admin.tenant_contacts (tenant_id, contact_type)
  where is_primary;

create trigger organizations_updated_at before update on admin.organizations
  for each row execute function platform_common.update_updated_at_column();
create trigger regions_updated_at before update on admin.regions
  for each row execute function platform_common.update_updated_at_column();
create trigger database_connections_updated_at before update on admin.database_connections
  for each row execute function platform_common.update_updated_at_column();
create trigger tenants_updated_at before update on admin.tenants
  for each row execute function platform_common.update_updated_at_column();
create trigger tenant_contacts_updated_at before update on admin.tenant_contacts
  for each row execute function platform_common.update_updated_at_column();

create trigger organizations_version before update on admin.organizations
  for each row execute function admin.bump_version();
create trigger regions_version before update on admin.regions
  for each row execute function admin.bump_version();
create trigger database_connections_version before update on admin.database_connections
  for each row execute function admin.bump_version();
create trigger tenants_version before update on admin.tenants
  for each row execute function admin.bump_version();
