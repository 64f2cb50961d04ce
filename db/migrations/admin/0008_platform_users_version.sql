-- Platform users become a versioned admin resource (ADR 0017, docs/decisions/0020-platform-users.md):
-- `version` is their ETag, moved by the same trigger function as every other versioned table
-- (admin.bump_version, 0002): any change but updated_at moves it, a no-op update keeps it.
alter table admin.platform_users add column version integer not null default 1;
create trigger platform_users_version before update on admin.platform_users
  for each row execute function admin.bump_version();

-- profile_completion_percentage is derived, never written by callers: the share of the eight
-- profile fields a person fills in (names, display name, avatar, phone, job title, company,
-- departments), whatever path wrote the row (the API, sign-in's upsert, SQL). timezone and
-- locale always hold a value (their defaults), so they say nothing about completion.
create function admin.platform_user_profile_completion() returns trigger language plpgsql as $$
begin
  new.profile_completion_percentage = round(100.0 * (
      (nullif(btrim(new.first_name), '') is not null)::int
    + (nullif(btrim(new.last_name), '') is not null)::int
    + (nullif(btrim(new.display_name), '') is not null)::int
    + (nullif(btrim(new.avatar_url), '') is not null)::int
    + (nullif(btrim(new.phone), '') is not null)::int
    + (nullif(btrim(new.job_title), '') is not null)::int
    + (nullif(btrim(new.company), '') is not null)::int
    + (coalesce(cardinality(new.departments), 0) > 0)::int
  ) / 8);
  return new;
end
$$;
-- Named to fire before platform_users_version (triggers fire in name order), so the version
-- sees the final row.
create trigger platform_users_profile_completion before insert or update on admin.platform_users
  for each row execute function admin.platform_user_profile_completion();
update admin.platform_users set profile_completion_percentage = profile_completion_percentage;

-- The list's default order and its cursor: newest first, id breaking ties.
create index platform_users_live_created_idx on admin.platform_users (created_at desc, id desc)
  where deleted_at is null;
