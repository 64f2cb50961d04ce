import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/core/db/migrate";
import { migrationFilesFor } from "../../src/core/db/migration-files";
import { scratchDatabase } from "../support/scratch-database";

/**
 * The admin schema as the migrations build it, on a database of its own (the real server with
 * TEST_DATABASE_URL, else PGlite): what exists, and what the constraints and triggers refuse.
 */
let db: Awaited<ReturnType<typeof scratchDatabase>>;
let firstRun: Awaited<ReturnType<typeof migrate>>;
let fileCount = 0;

const suffix = () => Math.random().toString(36).slice(2, 10);

/** The PostgreSQL error code (and constraint) a statement fails with, or "ok". */
async function outcome(statement: PromiseLike<unknown>): Promise<string> {
  try {
    await statement;
    return "ok";
  } catch (error) {
    const e = error as { code?: string; constraint_name?: string };
    return e.constraint_name ? `${e.code}:${e.constraint_name}` : `${e.code}`;
  }
}

/** Fixtures: one of everything a tenant needs. */
const ids = { user: "", organization: "", region: "", connection: "", tenant: "" };

async function createOrganization(slug = `org-${suffix()}`): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into admin.organizations (name, slug) values ('Org', ${slug}) returning id`;
  if (!row) throw new Error("organization not created");
  return row.id;
}

function insertTenant(values: { slug?: string; schemaName?: string; status?: string } = {}) {
  const slug = values.slug ?? `t-${suffix()}`;
  return db.sql<{ id: string }[]>`
    insert into admin.tenants (organization_id, slug, name, schema_name, external_auth_realm,
                               external_user_id, region_id, status)
    values (${ids.organization}, ${slug}, 'Tenant', ${values.schemaName ?? `tenant_${slug.replace(/-/g, "_")}`},
            ${`tenant-${slug}`}, ${suffix()}, ${ids.region}, ${values.status ?? "pending"})
    returning id`;
}

beforeAll(async () => {
  db = await scratchDatabase();
  const files = await migrationFilesFor("admin");
  fileCount = files.length;
  firstRun = await migrate(db.sql, files, { role: "admin" });

  const [user] = await db.sql<{ id: string }[]>`
    insert into admin.platform_users (email, username, external_user_id)
    values ('owner@example.com', 'owner', 'ext-owner') returning id`;
  ids.user = user?.id ?? "";
  ids.organization = await createOrganization("acme");
  const [region] = await db.sql<{ id: string }[]>`
    insert into admin.regions (code, name, display_name, country_code, continent, timezone,
                               primary_endpoint, max_tenants)
    values ('us-east-1', 'US East', 'US East (Virginia)', 'US', 'North America', 'America/New_York',
            'db.us-east-1.internal:5432', 10)
    returning id`;
  ids.region = region?.id ?? "";
  const [connection] = await db.sql<{ id: string }[]>`
    insert into admin.database_connections (region_id, connection_name, connection_type, host,
                                            database_name, encrypted_password, hyperdrive_binding)
    values (${ids.region}, 'shared-us-primary', 'primary', 'db.us-east-1.internal', 'shared_us',
            'v1:k2026:AAAAAAAAAAAAAAAA:c2VjcmV0', 'HYPERDRIVE_SHARED_US')
    returning id`;
  ids.connection = connection?.id ?? "";
  const [tenant] = await insertTenant({ slug: "acme-main" });
  ids.tenant = tenant?.id ?? "";
}, 120_000);
afterAll(() => db?.drop());

describe("migrations", () => {
  it("apply cleanly to an empty database, new files in order after 0001", () => {
    const admin = firstRun.applied.filter((name) => name.startsWith("admin/"));
    expect(admin).toEqual([
      "admin/0001_identity.sql",
      "admin/0002_organizations_regions_tenants.sql",
      "admin/0003_billing.sql",
      "admin/0004_tenant_access.sql",
      "admin/0005_monitoring_and_migrations.sql",
      "admin/0006_audit_and_idempotency.sql",
      "admin/0007_organization_settings_and_members.sql",
      "admin/0008_platform_users_version.sql",
    ]);
    expect(firstRun.applied.at(-1)).toBe("seed/billing/plans.sql");
    expect(firstRun.applied).toHaveLength(fileCount);
  });

  it("re-run is a no-op", async () => {
    const again = await migrate(db.sql, await migrationFilesFor("admin"), { role: "admin" });
    expect(again).toEqual({ applied: [], skipped: fileCount });
  });

  it("re-applying the plans seed changes nothing", async () => {
    const before =
      await db.sql`select code, updated_at from admin.subscription_plans order by code`;
    const files = await migrationFilesFor("admin");
    const seed = files.find((f) => f.name === "seed/billing/plans.sql");
    if (!seed) throw new Error("plans seed missing");
    await db.sql.unsafe(seed.sql).simple();
    expect(
      await db.sql`select code, updated_at from admin.subscription_plans order by code`,
    ).toEqual(before);
    expect(await db.sql`select count(*)::int as n from admin.plan_quotas`).toEqual([{ n: 12 }]);
  });

  it("create every table, view and function of the admin schema", async () => {
    const relations = await db.sql<{ name: string; kind: string }[]>`
      select table_name as name, table_type as kind from information_schema.tables
      where table_schema = 'admin' order by table_name`;
    const tables = relations.filter((r) => r.kind === "BASE TABLE").map((r) => r.name);
    const views = relations.filter((r) => r.kind === "VIEW").map((r) => r.name);
    expect(tables).toEqual(
      [
        "api_rate_limits",
        "audit_log",
        "billing_alerts",
        "database_connections",
        "idempotency_keys",
        "invoice_line_items",
        "invoices",
        "migration_batch_details",
        "migration_batches",
        "migration_locks",
        "migration_rollbacks",
        "migration_schedules",
        "organization_members",
        "organization_settings",
        "organizations",
        "payment_transactions",
        "plan_quotas",
        "platform_permissions",
        "platform_roles",
        "platform_user_permissions",
        "platform_user_roles",
        "platform_users",
        "regions",
        "role_permissions",
        "subscription_addons",
        "subscription_plans",
        "system_alerts",
        "tenant_access_grants",
        "tenant_contacts",
        "tenant_quotas",
        "tenant_settings",
        "tenant_subscriptions",
        "tenant_user_permissions",
        "tenant_user_roles",
        "tenants",
      ].sort(),
    );
    expect(views).toEqual([
      "v_active_migration_locks",
      "v_failed_migrations",
      "v_migration_status_overview",
    ]);
    const functions = (
      await db.sql<{ name: string }[]>`
        select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'admin' order by 1`
    ).map((r) => r.name);
    expect(functions).toEqual(
      expect.arrayContaining([
        "acquire_migration_lock",
        "release_migration_lock",
        "renew_migration_lock",
        "cleanup_expired_locks",
        "bump_version",
        "check_tenant_role_level",
        "check_tenant_permission_scope",
      ]),
    );
    const enums = (
      await db.sql<{ name: string }[]>`
        select t.typname as name from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where n.nspname = 'admin' and t.typtype = 'e' order by 1`
    ).map((r) => r.name);
    expect(enums).toEqual(
      [
        "actor_type",
        "auth_provider",
        "billing_cycle",
        "connection_type",
        "contact_type",
        "deployment_type",
        "environment_type",
        "health_status",
        "invoice_status",
        "line_item_type",
        "permission_scope_level",
        "plan_tier",
        "platform_role_level",
        "retention_policy",
        "risk_level",
        "subscription_status",
        "tenant_status",
      ].sort(),
    );
  });

  it("settle the enum values of the known inconsistencies (ADR 0015)", async () => {
    const values = async (name: string) =>
      (
        await db.sql.unsafe<{ v: string }[]>(
          `select unnest(enum_range(null::admin.${name}))::text as v`,
        )
      ).map((r) => r.v);
    expect(await values("tenant_status")).toEqual([
      "pending",
      "provisioning",
      "active",
      "suspended",
      "migrating",
      "archived",
      "deleted",
    ]);
    expect(await values("subscription_status")).toEqual([
      "trial",
      "active",
      "past_due",
      "suspended",
      "canceled",
      "expired",
    ]);
    expect(await values("deployment_type")).toEqual(["schema", "database", "dedicated"]);
    expect(await values("environment_type")).toEqual(["development", "staging", "production"]);
  });
});

describe("seeded plans", () => {
  it("are the four defaults, in USD cents, with their quotas", async () => {
    const plans = await db.sql`
      select code, plan_tier::text, price_monthly_cents::int as monthly,
             price_yearly_cents::int as yearly, currency, features
      from admin.subscription_plans order by sort_order`;
    expect(plans).toEqual([
      {
        code: "free",
        plan_tier: "free",
        monthly: 0,
        yearly: 0,
        currency: "USD",
        features: { users: 5, storage_gb: 1, api_calls: 1000 },
      },
      {
        code: "starter",
        plan_tier: "starter",
        monthly: 2900,
        yearly: 31000,
        currency: "USD",
        features: { users: 25, storage_gb: 10, api_calls: 10000 },
      },
      {
        code: "professional",
        plan_tier: "professional",
        monthly: 9900,
        yearly: 105000,
        currency: "USD",
        features: { users: 100, storage_gb: 100, api_calls: 100000 },
      },
      {
        code: "enterprise",
        plan_tier: "enterprise",
        monthly: 29900,
        yearly: 319000,
        currency: "USD",
        features: { users: -1, storage_gb: 1000, api_calls: 1000000 },
      },
    ]);
    const quotas = await db.sql`
      select p.code, q.quota_type, q.quota_value::float8 as value, q.is_unlimited
      from admin.plan_quotas q join admin.subscription_plans p on p.id = q.plan_id
      where p.code in ('free', 'enterprise') order by p.code, q.quota_type`;
    expect(quotas).toEqual([
      { code: "enterprise", quota_type: "api_calls", value: 1000000, is_unlimited: false },
      { code: "enterprise", quota_type: "storage_gb", value: 1000, is_unlimited: false },
      { code: "enterprise", quota_type: "users", value: 0, is_unlimited: true },
      { code: "free", quota_type: "api_calls", value: 1000, is_unlimited: false },
      { code: "free", quota_type: "storage_gb", value: 1, is_unlimited: false },
      { code: "free", quota_type: "users", value: 5, is_unlimited: false },
    ]);
  });
});

describe("organizations, regions, connections, tenants", () => {
  it.each([
    ["Bad_Slug", "23514:organizations_slug_check"],
    ["-acme", "23514:organizations_slug_check"],
    ["acme-", "23514:organizations_slug_check"],
    ["a", "23514:organizations_slug_check"],
    ["acme", "23505:organizations_slug_key"],
    ["acme-corp", "ok"],
  ])("organization slug %j → %s", async (slug, expected) => {
    expect(
      await outcome(db.sql`insert into admin.organizations (name, slug) values ('X', ${slug})`),
    ).toBe(expected);
  });

  it("refuses an unknown currency or country (they reference platform_common)", async () => {
    expect(
      await outcome(
        db.sql`insert into admin.organizations (name, slug, default_currency)
               values ('X', ${`o-${suffix()}`}, 'XXZ')`,
      ),
    ).toBe("23503:organizations_default_currency_fkey");
    expect(
      await outcome(
        db.sql`insert into admin.organizations (name, slug, country_code)
               values ('X', ${`o-${suffix()}`}, 'QQ')`,
      ),
    ).toBe("23503:organizations_country_code_fkey");
  });

  it.each([
    ["Tenant-1", "23514:tenants_schema_name_check"],
    ["1tenant", "23514:tenants_schema_name_check"],
    ["pg_tenant", "23514:tenants_schema_name_check"],
    ["admin", "23514:tenants_schema_name_check"],
    ["tenant_ok_1", "ok"],
  ])("tenant schema_name %j → %s", async (schemaName, expected) => {
    expect(await outcome(insertTenant({ schemaName }))).toBe(expected);
  });

  it("refuses a tenant slug longer than 54", async () => {
    const slug = `t${"a".repeat(54)}`;
    expect(await outcome(insertTenant({ slug, schemaName: `s_${suffix()}` }))).toBe(
      "23514:tenants_slug_check",
    );
  });

  it("keeps status 'deleted' and deleted_at together", async () => {
    expect(await outcome(insertTenant({ status: "deleted" }))).toBe("23514:tenants_deleted_status");
    expect(
      await outcome(db.sql`update admin.tenants set deleted_at = now() where id = ${ids.tenant}`),
    ).toBe("23514:tenants_deleted_status");
  });

  it("refuses a realm name that could not go into a URL", async () => {
    expect(
      await outcome(
        db.sql`update admin.tenants set external_auth_realm = 'a/b' where id = ${ids.tenant}`,
      ),
    ).toBe("23514:tenants_external_auth_realm_check");
  });

  it("bumps version on a change, keeps it on a no-op, and cannot be rewound", async () => {
    const version = async () =>
      (
        await db.sql<
          { version: number }[]
        >`select version from admin.organizations where id = ${ids.organization}`
      )[0]?.version;
    expect(await version()).toBe(1);
    await db.sql`update admin.organizations set name = 'Acme Inc' where id = ${ids.organization}`;
    expect(await version()).toBe(2);
    await db.sql`update admin.organizations set name = 'Acme Inc' where id = ${ids.organization}`;
    expect(await version()).toBe(2);
    await db.sql`update admin.organizations set industry = 'Retail', version = 1 where id = ${ids.organization}`;
    expect(await version()).toBe(3);
    // The optimistic-concurrency write the services make: a stale version matches nothing.
    const stale = await db.sql`
      update admin.organizations set name = 'Lost update' where id = ${ids.organization} and version = 2`;
    expect(stale.count).toBe(0);
  });

  it.each([
    ["regions", "priority = priority + 1"],
    ["database_connections", "port = port + 1"],
    ["tenants", "description = 'changed'"],
    ["platform_users", "job_title = 'changed'"],
  ])("bumps %s.version on update too", async (table, change) => {
    const id = {
      regions: ids.region,
      database_connections: ids.connection,
      tenants: ids.tenant,
      platform_users: ids.user,
    }[table];
    const version = async () =>
      (
        await db.sql.unsafe<{ version: number }[]>(
          `select version from admin.${table} where id = $1`,
          [id ?? ""],
        )
      )[0]?.version ?? 0;
    const before = await version();
    await db.sql.unsafe(`update admin.${table} set ${change} where id = $1`, [id ?? ""]);
    expect(await version()).toBe(before + 1);
  });

  it("derives platform_users.profile_completion_percentage from the profile fields", async () => {
    const [row] = await db.sql<{ id: string; profile_completion_percentage: number }[]>`
      insert into admin.platform_users (email, username, external_user_id, first_name, last_name,
                                        profile_completion_percentage)
      values ('complete@example.com', 'complete', 'ext-complete', 'Ada', ' ', 100)
      returning id, profile_completion_percentage`;
    expect(row?.profile_completion_percentage).toBe(13);
    const [after] = await db.sql<{ profile_completion_percentage: number }[]>`
      update admin.platform_users
      set last_name = 'Lovelace', display_name = 'Ada', avatar_url = 'https://x.example/a.png',
          phone = '+353861234567', job_title = 'Engineer', company = 'Engines',
          departments = '{R&D}'
      where id = ${row?.id ?? ""} returning profile_completion_percentage`;
    expect(after?.profile_completion_percentage).toBe(100);
  });

  it("keeps current_tenants ≤ max_tenants", async () => {
    expect(
      await outcome(db.sql`update admin.regions set current_tenants = 11 where id = ${ids.region}`),
    ).toBe("23514:regions_current_within_max");
    expect(
      await outcome(db.sql`update admin.regions set current_tenants = 10 where id = ${ids.region}`),
    ).toBe("ok");
    expect(
      await outcome(db.sql`update admin.regions set max_tenants = 9 where id = ${ids.region}`),
    ).toBe("23514:regions_current_within_max");
  });

  it.each([
    [
      "encrypted_password",
      "plain-text-password",
      "23514:database_connections_encrypted_password_check",
    ],
    ["encrypted_password", "v1:key:AAAA:", "23514:database_connections_encrypted_password_check"],
    ["hyperdrive_binding", "hyperdrive", "23514:database_connections_hyperdrive_binding_check"],
    [
      "hyperdrive_binding",
      "HYPERDRIVE_SHARED_US",
      "23505:database_connections_hyperdrive_binding_key",
    ],
    ["pool_min_size", "30", "23514:database_connections_pool_config"],
  ])("database connection with %s = %j → %s", async (column, value, expected) => {
    const base = {
      region_id: ids.region,
      connection_name: `c-${suffix()}`,
      connection_type: "replica",
      host: "replica.internal",
      database_name: "shared_us",
    };
    const row = { ...base, [column]: column === "pool_min_size" ? Number(value) : value };
    expect(await outcome(db.sql`insert into admin.database_connections ${db.sql(row)}`)).toBe(
      expected,
    );
  });

  it("allows one primary contact per type and tenant", async () => {
    const [other] = await db.sql<{ id: string }[]>`
      insert into admin.platform_users (email, username, external_user_id)
      values (${`c-${suffix()}@example.com`}, ${`c-${suffix()}`}, ${suffix()}) returning id`;
    await db.sql`insert into admin.tenant_contacts (tenant_id, user_id, contact_type, is_primary)
                 values (${ids.tenant}, ${ids.user}, 'billing', true)`;
    expect(
      await outcome(
        db.sql`insert into admin.tenant_contacts (tenant_id, user_id, contact_type, is_primary)
               values (${ids.tenant}, ${other?.id ?? ""}, 'billing', true)`,
      ),
    ).toBe("23505:tenant_contacts_one_primary_key");
  });
});

describe("organization settings and members", () => {
  it("refuses a bad key, a JSON null value and an unknown member role", async () => {
    const organization = await createOrganization();
    expect(
      await outcome(db.sql`insert into admin.organization_settings (organization_id, setting_key, setting_value)
                           values (${organization}, 'Bad Key', '1')`),
    ).toBe("23514:organization_settings_setting_key_check");
    expect(
      await outcome(db.sql`insert into admin.organization_settings (organization_id, setting_key, setting_value)
                           values (${organization}, 'a.b', 'null')`),
    ).toBe("23514:organization_settings_setting_value_check");
    expect(
      await outcome(db.sql`insert into admin.organization_members (organization_id, user_id, member_role)
                           values (${organization}, ${ids.user}, 'king')`),
    ).toBe("23514:organization_members_member_role_check");
  });

  it("a user is a member once, and both go with their organization", async () => {
    const organization = await createOrganization();
    const member = db.sql`insert into admin.organization_members (organization_id, user_id)
                          values (${organization}, ${ids.user})`;
    expect(await outcome(member)).toBe("ok");
    expect(
      await outcome(db.sql`insert into admin.organization_members (organization_id, user_id)
                           values (${organization}, ${ids.user})`),
    ).toBe("23505:organization_members_pkey");
    await db.sql`insert into admin.organization_settings (organization_id, setting_key, setting_value)
                 values (${organization}, 'a.b', '"x"')`;
    await db.sql`delete from admin.organizations where id = ${organization}`;
    const left = await db.sql`
      select 1 from admin.organization_members where organization_id = ${organization}
      union all select 1 from admin.organization_settings where organization_id = ${organization}`;
    expect(left).toHaveLength(0);
  });
});

describe("tenant grants", () => {
  const roleId = async (code: string) =>
    (await db.sql<{ id: number }[]>`select id from admin.platform_roles where code = ${code}`)[0]
      ?.id ?? 0;
  const permissionId = async (code: string) =>
    (
      await db.sql<{ id: number }[]>`select id from admin.platform_permissions where code = ${code}`
    )[0]?.id ?? 0;

  it("tenant_user_roles refuses a platform role and accepts a tenant role", async () => {
    const grant = async (code: string) =>
      outcome(db.sql`insert into admin.tenant_user_roles (tenant_id, user_id, role_id)
                     values (${ids.tenant}, ${ids.user}, ${await roleId(code)})`);
    expect(await grant("platform_admin")).toBe("23514");
    expect(await grant("super_admin")).toBe("23514");
    expect(await grant("tenant_user")).toBe("ok");
    // And an update cannot swap the role for a platform one.
    expect(
      await outcome(
        db.sql`update admin.tenant_user_roles set role_id = ${await roleId("platform_admin")}
               where tenant_id = ${ids.tenant} and user_id = ${ids.user}`,
      ),
    ).toBe("23514");
  });

  it("tenant_user_permissions accepts tenant-scope permissions only", async () => {
    const grant = async (code: string) =>
      outcome(db.sql`insert into admin.tenant_user_permissions (tenant_id, user_id, permission_id)
                     values (${ids.tenant}, ${ids.user}, ${await permissionId(code)})`);
    expect(await grant("tenants:delete")).toBe("23514");
    expect(await grant("tenant.users:read")).toBe("ok");
  });

  it("tenant_settings values match their declared type; encrypted ones are ciphertext", async () => {
    const setting = (key: string, type: string, value: unknown, isPublic = false) =>
      outcome(db.sql`insert into admin.tenant_settings (tenant_id, setting_key, setting_type, setting_value, is_public)
                     values (${ids.tenant}, ${key}, ${type}, ${db.sql.json(value as never)}, ${isPublic})`);
    expect(await setting("ui.theme", "string", "dark")).toBe("ok");
    expect(await setting("ui.items", "number", "ten")).toBe(
      "23514:tenant_settings_value_matches_type",
    );
    expect(await setting("smtp.password", "encrypted", "hunter2")).toBe(
      "23514:tenant_settings_value_matches_type",
    );
    expect(await setting("smtp.password", "encrypted", "v1:k1:aXY=:Y3Q=", true)).toBe(
      "23514:tenant_settings_value_matches_type",
    );
    expect(await setting("smtp.password", "encrypted", "v1:k1:aXY=:Y3Q=")).toBe("ok");
  });

  it("tenant_quotas take -1 as unlimited and nothing below", async () => {
    const tenant = (await insertTenant())[0]?.id ?? "";
    expect(
      await outcome(
        db.sql`insert into admin.tenant_quotas (tenant_id, users_quota) values (${tenant}, -1)`,
      ),
    ).toBe("ok");
    expect(
      await outcome(
        db.sql`update admin.tenant_quotas set files_quota = -2 where tenant_id = ${tenant}`,
      ),
    ).toBe("23514:tenant_quotas_files_quota_check");
  });
});

describe("billing", () => {
  const planId = async () =>
    (
      await db.sql<{ id: string }[]>`select id from admin.subscription_plans where code = 'starter'`
    )[0]?.id ?? "";

  it.each([
    [{ subtotal: 1000, tax: 0, discount: 0, total: -1 }, "23514:invoices_amounts_non_negative"],
    [
      { subtotal: 1000, tax: 0, discount: 2000, total: -1000 },
      "23514:invoices_amounts_non_negative",
    ],
    [{ subtotal: 1000, tax: 200, discount: 0, total: 1000 }, "23514:invoices_total_derived"],
    [{ subtotal: 1000, tax: 200, discount: 100, total: 1100 }, "ok"],
  ])("invoice amounts %j → %s", async (a, expected) => {
    expect(
      await outcome(
        db.sql`insert into admin.invoices (tenant_id, invoice_number, subtotal_cents, tax_cents, discount_cents, total_cents)
               values (${ids.tenant}, ${`INV-${suffix()}`}, ${a.subtotal}, ${a.tax}, ${a.discount}, ${a.total})`,
      ),
    ).toBe(expected);
  });

  it("a tenant has one running subscription at a time", async () => {
    const plan = await planId();
    const subscribe = () =>
      outcome(db.sql`insert into admin.tenant_subscriptions (tenant_id, plan_id, billing_cycle,
                                                              current_period_start, current_period_end, price_cents)
                     values (${ids.tenant}, ${plan}, 'monthly', '2026-01-01', '2026-02-01', 2900)`);
    expect(await subscribe()).toBe("ok");
    expect(await subscribe()).toBe("23505:tenant_subscriptions_one_live_key");
    expect(
      await outcome(
        db.sql`update admin.tenant_subscriptions set status = 'suspended' where tenant_id = ${ids.tenant}`,
      ),
    ).toBe("23514:tenant_subscriptions_suspended_stamped");
    await db.sql`update admin.tenant_subscriptions set status = 'canceled', canceled_at = now()
                 where tenant_id = ${ids.tenant}`;
    expect(await subscribe()).toBe("ok");
  });

  it("refuses negative prices", async () => {
    expect(
      await outcome(
        db.sql`insert into admin.subscription_plans (code, name, price_monthly_cents, price_yearly_cents, plan_tier)
               values (${`p-${suffix()}`}, 'Bad', -1, 0, 'custom')`,
      ),
    ).toBe("23514:subscription_plans_prices_non_negative");
  });
});

describe("migration locks", () => {
  const acquire = async (key: string, holder: string, ttl = 60) =>
    (
      await db.sql<
        { ok: boolean }[]
      >`select admin.acquire_migration_lock(${key}, ${holder}, ${ttl}) as ok`
    )[0]?.ok;
  const release = async (key: string, holder: string) =>
    (
      await db.sql<{ ok: boolean }[]>`select admin.release_migration_lock(${key}, ${holder}) as ok`
    )[0]?.ok;

  it("is held by one holder at a time, and free again once released", async () => {
    const key = `schema:${suffix()}`;
    expect(await acquire(key, "job-a")).toBe(true);
    expect(await acquire(key, "job-b")).toBe(false);
    expect(await acquire(key, "job-a")).toBe(false);
    expect(await release(key, "job-b")).toBe(false);
    const active = await db.sql`
      select resource_key, locked_by from admin.v_active_migration_locks where resource_key = ${key}`;
    expect(active).toEqual([{ resource_key: key, locked_by: "job-a" }]);
    expect(await release(key, "job-a")).toBe(true);
    expect(await acquire(key, "job-b")).toBe(true);
  });

  it("renews for its holder only, and caps a lock at one hour", async () => {
    const key = `schema:${suffix()}`;
    await acquire(key, "job-a");
    const renew = async (holder: string, ttl: number) =>
      (
        await db.sql<{ ok: boolean }[]>`
          select admin.renew_migration_lock(${key}, ${holder}, ${ttl}) as ok`
      )[0]?.ok;
    expect(await renew("job-b", 60)).toBe(false);
    expect(await renew("job-a", 3600)).toBe(true);
    expect(await outcome(renew("job-a", 3601))).toBe("22023");
    expect(await outcome(acquire(`schema:${suffix()}`, "job-a", 0))).toBe("22023");
  });

  it("takes over and cleans up expired locks", async () => {
    const key = `schema:${suffix()}`;
    await db.sql`insert into admin.migration_locks (resource_key, locked_by, locked_at, expires_at)
                 values (${key}, 'crashed', now() - interval '2 hours', now() - interval '1 hour')`;
    expect(
      await db.sql`select 1 from admin.v_active_migration_locks where resource_key = ${key}`,
    ).toHaveLength(0);
    expect(await acquire(key, "job-a")).toBe(true);
    const stale = `schema:${suffix()}`;
    await db.sql`insert into admin.migration_locks (resource_key, locked_by, locked_at, expires_at)
                 values (${stale}, 'crashed', now() - interval '2 hours', now() - interval '1 hour')`;
    const [cleaned] = await db.sql<{ n: number }[]>`select admin.cleanup_expired_locks() as n`;
    expect(cleaned?.n).toBeGreaterThanOrEqual(1);
    expect(
      await db.sql`select 1 from admin.migration_locks where resource_key = ${stale}`,
    ).toHaveLength(0);
    expect(await release(key, "job-a")).toBe(true);
  });

  it("reports batches and failed targets through the views", async () => {
    const [batch] = await db.sql<{ id: string }[]>`
      insert into admin.migration_batches (batch_name, batch_type, scope, status, started_at)
      values ('tenant schemas', 'dynamic', 'tenant', 'running', now()) returning id`;
    const batchId = batch?.id ?? "";
    await db.sql`insert into admin.migration_batch_details
                   (batch_id, database_connection_id, tenant_id, database_name, schema_name, status, error_message)
                 values (${batchId}, ${ids.connection}, ${ids.tenant}, 'shared_us', 'tenant_acme_main', 'failed', 'boom'),
                        (${batchId}, ${ids.connection}, null, 'shared_us', 'tenant_other', 'completed', null),
                        (${batchId}, ${ids.connection}, null, 'shared_us', 'tenant_third', 'pending', null)`;
    expect(
      await outcome(
        db.sql`insert into admin.migration_batch_details (batch_id, database_connection_id, database_name, schema_name)
               values (${batchId}, ${ids.connection}, 'shared_us', 'tenant_other')`,
      ),
    ).toBe("23505:migration_batch_details_target_key");
    const [overview] = await db.sql`
      select targets::int, failed_targets::int, completed_targets::int, pending_targets::int,
             progress_percentage::float8 as progress
      from admin.v_migration_status_overview where batch_id = ${batchId}`;
    expect(overview).toEqual({
      targets: 3,
      failed_targets: 1,
      completed_targets: 1,
      pending_targets: 1,
      progress: 66.7,
    });
    const failed = await db.sql`
      select connection_name, region_code, tenant_slug, schema_name, error_message
      from admin.v_failed_migrations where batch_id = ${batchId}`;
    expect(failed).toEqual([
      {
        connection_name: "shared-us-primary",
        region_code: "us-east-1",
        tenant_slug: "acme-main",
        schema_name: "tenant_acme_main",
        error_message: "boom",
      },
    ]);
  });
});

describe("audit log and idempotency keys", () => {
  it("audit entries are written once and never edited", async () => {
    const [entry] = await db.sql<{ id: string }[]>`
      insert into admin.audit_log (actor_type, actor_id, action, resource_type, resource_id, after, ip)
      values ('user', ${ids.user}, 'organizations.create', 'organization', ${ids.organization},
              '{"slug": "acme"}', '10.0.0.1')
      returning id`;
    expect(
      await outcome(
        db.sql`update admin.audit_log set reason = 'edited' where id = ${entry?.id ?? ""}`,
      ),
    ).toBe("42501");
    expect(
      await outcome(
        db.sql`insert into admin.audit_log (actor_type, action, resource_type)
               values ('system', 'Organizations Create', 'organization')`,
      ),
    ).toBe("23514:audit_log_action_check");
  });

  it("idempotency keys are per principal; completed rows carry their response", async () => {
    const hash = "a".repeat(64);
    const insert = (
      principal: string,
      status = "in_progress",
      responseStatus: number | null = null,
    ) =>
      outcome(db.sql`insert into admin.idempotency_keys
                       (principal_id, key, method, path, request_hash, status, response_status, completed_at)
                     values (${principal}, 'key-1', 'POST', '/api/v1/organizations', ${hash}, ${status},
                             ${responseStatus}, ${responseStatus === null ? null : new Date()})`);
    expect(await insert(ids.user)).toBe("ok");
    expect(await insert(ids.user)).toBe("23505:idempotency_keys_pkey");
    expect(await insert("api-client-7")).toBe("ok");
    expect(await insert("api-client-8", "completed")).toBe(
      "23514:idempotency_keys_completed_has_response",
    );
    expect(await insert("api-client-8", "completed", 201)).toBe("ok");
  });
});
