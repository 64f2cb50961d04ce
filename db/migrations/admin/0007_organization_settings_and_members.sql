-- admin schema, part 7 (ours: the original only named these sub-resources): an organization's
-- settings and its members (docs/decisions/0018-organizations.md).

-- One row per key. Values are any JSON but null (a null in a write removes the key). Not for
-- secrets: the API refuses keys named like one, and there is no encrypted type (see
-- tenant_settings for that). `is_public`: may be shown to the organization's own users.
create table admin.organization_settings (
  organization_id uuid not null references admin.organizations (id) on delete cascade,
  setting_key varchar(100) not null check (setting_key ~ '^[a-z][a-z0-9_.-]*$'),
  setting_value jsonb not null check (jsonb_typeof(setting_value) <> 'null'),
  is_public boolean not null default false,
  updated_by uuid references admin.platform_users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, setting_key)
);

-- Who belongs to an organization, and as what. Membership is a fact about the customer, not
-- an authorization grant: what a platform user may do through this API comes from their
-- platform roles and permissions only.
create table admin.organization_members (
  organization_id uuid not null references admin.organizations (id) on delete cascade,
  user_id uuid not null references admin.platform_users (id) on delete cascade,
  member_role varchar(20) not null default 'member'
    check (member_role in ('owner', 'admin', 'billing', 'member')),
  added_by uuid references admin.platform_users (id) on delete set null,
  -- A member is a single resource of the API: its ETag, moved by admin.bump_version (0002).
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);
create index organization_members_user_idx on admin.organization_members (user_id);

create trigger organization_settings_updated_at before update on admin.organization_settings
  for each row execute function platform_common.update_updated_at_column();
create trigger organization_members_updated_at before update on admin.organization_members
  for each row execute function platform_common.update_updated_at_column();
create trigger organization_members_version before update on admin.organization_members
  for each row execute function admin.bump_version();
