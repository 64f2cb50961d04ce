-- platform_common: enums, helper functions and ISO reference tables.
-- Applied to the admin database and to every regional database.

create schema if not exists platform_common;

create type platform_common.auth_provider as enum
  ('keycloak', 'auth0', 'authentik', 'authelia', 'azure', 'google', 'custom');
create type platform_common.user_role_level as enum
  ('owner', 'admin', 'manager', 'member', 'viewer', 'guest');
create type platform_common.user_statuses as enum
  ('active', 'inactive', 'pending', 'suspended', 'archived');
create type platform_common.permission_scopes as enum ('tenant', 'team', 'user');
create type platform_common.team_types as enum
  ('department', 'project', 'working_group', 'committee', 'other');
create type platform_common.risk_levels as enum ('low', 'medium', 'high', 'critical');
create type platform_common.reference_status as enum ('active', 'inactive', 'historical');

-- Time-ordered UUID (RFC 9562 version 7): 48-bit Unix milliseconds, then random bits, with the
-- version (0111) and variant (10) bits set. Keeps B-tree inserts append-mostly.
create or replace function platform_common.uuid_generate_v7() returns uuid
language sql volatile parallel safe as $$
  select encode(
    set_bit(
      set_bit(
        overlay(uuid_send(gen_random_uuid())
                placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
                from 1 for 6),
        52, 1),
      53, 1),
    'hex')::uuid
$$;

create or replace function platform_common.update_updated_at_column() returns trigger
language plpgsql as $$
begin
  new.updated_at = now();
  return new;
end
$$;

create table platform_common.currencies (
  code char(3) primary key check (code ~ '^[A-Z]{3}$'),
  numeric_code char(3) check (numeric_code ~ '^[0-9]{3}$'),
  minor_unit smallint default 2 check (minor_unit between 0 and 6),
  name varchar(100) not null,
  symbol varchar(5),
  status platform_common.reference_status not null default 'active',
  is_cryptocurrency boolean not null default false,
  is_legal_tender boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index currencies_status_idx on platform_common.currencies (status);
create index currencies_is_cryptocurrency_idx on platform_common.currencies (is_cryptocurrency);

create table platform_common.countries (
  code char(2) primary key check (code ~ '^[A-Z]{2}$'),
  code3 char(3) not null unique check (code3 ~ '^[A-Z]{3}$'),
  numeric_code char(3) not null unique check (numeric_code ~ '^[0-9]{3}$'),
  name varchar(100) not null,
  official_name varchar(200),
  region varchar(50) not null,
  continent varchar(20) not null,
  status platform_common.reference_status not null default 'active',
  calling_code varchar(10),
  default_currency_code char(3),
  gdpr_applicable boolean not null default false,
  data_localization_required boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index countries_status_idx on platform_common.countries (status);
create index countries_continent_idx on platform_common.countries (continent);
create index countries_gdpr_idx on platform_common.countries (code) where gdpr_applicable;

create table platform_common.languages (
  code varchar(10) primary key,
  iso639_1 char(2) unique check (iso639_1 ~ '^[a-z]{2}$'),
  iso639_2 char(3) check (iso639_2 ~ '^[a-z]{3}$'),
  name varchar(100) not null,
  native_name varchar(100) not null,
  status platform_common.reference_status not null default 'active',
  writing_direction varchar(10) not null default 'ltr' check (writing_direction in ('ltr', 'rtl', 'ttb')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index languages_status_idx on platform_common.languages (status);

create trigger currencies_updated_at before update on platform_common.currencies
  for each row execute function platform_common.update_updated_at_column();
create trigger countries_updated_at before update on platform_common.countries
  for each row execute function platform_common.update_updated_at_column();
create trigger languages_updated_at before update on platform_common.languages
  for each row execute function platform_common.update_updated_at_column();
