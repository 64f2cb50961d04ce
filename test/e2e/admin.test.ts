import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createSql } from "../../src/core/db/admin";
import { LOCAL_SUPERADMIN } from "../../src/dev/local-identity";
import { bearerCaller } from "../support/bearer-client";
import type { Account, RegionalBinding } from "./global-setup";
import { expectErrorEnvelope, getJson } from "./http";

const { bunUrl, workerUrl, databaseUrl, workerAccounts, regionalDatabases } = inject("e2e");

/** The admin database both runtimes use: to promote a signed-in user, and to see what is stored. */
const sql = createSql(databaseUrl, { max: 1 });
afterAll(() => sql.end({ timeout: 1 }));

interface Runtime {
  base: string;
  /** Bun: the superadmin of its in-process identity provider. Workers: an account of its own. */
  admin: Account;
  /** How a connection reaches a regional database: Bun by host and port, Workers by binding. */
  route(binding: RegionalBinding): { hyperdrive_binding?: string };
}

const runtimes: ["bun" | "workers", Runtime][] = [
  [
    "bun",
    {
      base: bunUrl,
      admin: { username: LOCAL_SUPERADMIN.username, password: LOCAL_SUPERADMIN.password },
      route: () => ({}),
    },
  ],
  [
    "workers",
    {
      base: workerUrl,
      admin: workerAccounts.admin,
      route: (binding) => ({ hyperdrive_binding: binding }),
    },
  ],
];

/** A code or name no other test or run uses (region codes have at most 15 characters). */
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** Calls with one user's token to a running server. */
function apiAs(base: string, token: string) {
  return bearerCaller((path, init) => fetch(`${base}${path}`, init), token);
}
type Api = ReturnType<typeof apiAs>;

interface SignIn {
  access_token: string;
  token_type: string;
  user: { id: string; username: string; is_superadmin: boolean };
}

async function signIn(base: string, account: Account) {
  return getJson<SignIn>(base, "/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(account),
  });
}

function regionInput(overrides: Record<string, unknown> = {}) {
  return {
    code: unique("e2e"),
    name: "E2E Region",
    display_name: "E2E Region (Dublin)",
    country_code: "IE",
    continent: "Europe",
    timezone: "Europe/Dublin",
    primary_endpoint: "db.e2e.example.com",
    max_tenants: 10,
    ...overrides,
  };
}

interface HealthCheck {
  checked: number;
  healthy: number;
  unhealthy: number;
  results: {
    connection_id: string;
    ok: boolean | null;
    error: string | null;
    is_healthy: boolean;
    health_status: string | null;
  }[];
}

/** How many sessions each scratch database has had, by the binding the Worker has for it. */
async function sessionsByBinding(): Promise<Partial<Record<RegionalBinding, number>>> {
  const bindings = Object.keys(regionalDatabases) as RegionalBinding[];
  const rows = await sql<{ datname: string; sessions: number }[]>`
    select datname, sessions::int as sessions from pg_stat_database
    where datname in ${sql(bindings.map((binding) => regionalDatabases[binding].database))}`;
  return Object.fromEntries(
    bindings.map((binding) => [
      binding,
      rows.find((row) => row.datname === regionalDatabases[binding].database)?.sessions,
    ]),
  );
}

async function healthCheck(api: Api, ids: string[]) {
  const reply = await api<HealthCheck>("POST", "/databases/health-check", {
    body: { connection_ids: ids, force_check: true, timeout_seconds: 5 },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const byId = new Map(reply.body.data.results.map((r) => [r.connection_id, r]));
  return { ...reply.body.data, byId };
}

describe.each(runtimes)("%s runtime: the admin API", (runtime, { base, admin, route }) => {
  let login: Awaited<ReturnType<typeof signIn>>;
  let api: Api;

  beforeAll(async () => {
    // One sign-in per runtime and run: sign-ins are limited per username and address.
    login = await signIn(base, admin);
    expect(login.response.status, JSON.stringify(login.body)).toBe(200);
    const { user, access_token } = login.body.data;
    if (!user.is_superadmin) {
      // Accounts the runtime's identity provider has start without platform rights. The sign-in
      // forgot any cached principal, so the next request reads this.
      await sql`update admin.platform_users set is_superadmin = true where id = ${user.id}`;
    }
    api = apiAs(base, access_token);
  });

  it("signs in through POST /auth/login and authorises admin routes with the token", async () => {
    expect(login.body.data).toMatchObject({
      token_type: "Bearer",
      access_token: expect.any(String),
      user: { username: admin.username },
    });
    const me = await api("GET", "/auth/me");
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ username: admin.username, is_superadmin: true });
    const roles = await api("GET", "/roles?page_size=5");
    expect(roles.status).toBe(200);
    const anonymous = await getJson(base, "/api/v1/roles");
    expect(anonymous.response.status).toBe(401);
    expectErrorEnvelope(anonymous.body, "UNAUTHORIZED");
  });

  it("answers a garbage token with 401 and a WWW-Authenticate challenge", async () => {
    const reply = await apiAs(base, "not-a-token")("GET", "/regions");
    expect(reply.status).toBe(401);
    expect(reply.headers.get("www-authenticate")).toMatch(
      /^Bearer realm="neoadmin".*invalid_token/,
    );
    expectErrorEnvelope(reply.body, "UNAUTHORIZED");
  });

  it("creates a region (201, ETag, Location) and honours If-None-Match and If-Match", async () => {
    const created = await api<{ id: string; version: number }>("POST", "/regions", {
      body: regionInput(),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id } = created.body.data;
    expect(created.headers.get("etag")).toBe('"1"');
    expect(created.headers.get("location")).toBe(`/api/v1/regions/${id}`);

    const unchanged = await fetch(`${base}/api/v1/regions/${id}`, {
      headers: {
        authorization: `Bearer ${login.body.data.access_token}`,
        "if-none-match": '"1"',
      },
    });
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe("");

    const blind = await api("PUT", `/regions/${id}`, { body: { max_tenants: 20 } });
    expect(blind.status).toBe(428);
    expectErrorEnvelope(blind.body, "PRECONDITION_REQUIRED");

    const updated = await api<{ version: number; max_tenants: number }>("PUT", `/regions/${id}`, {
      body: { max_tenants: 20 },
      headers: { "if-match": '"1"', "x-audit-reason": `e2e on ${runtime}` },
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.data).toMatchObject({ version: 2, max_tenants: 20 });
    expect(updated.headers.get("etag")).toBe('"2"');

    const stale = await api("PUT", `/regions/${id}`, {
      body: { max_tenants: 30 },
      headers: { "if-match": '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"2"');
    expectErrorEnvelope(stale.body, "PRECONDITION_FAILED");

    // Each change is in the audit log, by this user, with the reason sent.
    const audit = await api<{ items: { action: string; actor: unknown; reason: unknown }[] }>(
      "GET",
      `/audit?resource_type=region&resource_id=${id}`,
    );
    expect(audit.status).toBe(200);
    const entries = audit.body.data.items;
    expect(entries.map((e) => e.action).sort()).toEqual(["regions.create", "regions.update"]);
    expect(entries.find((e) => e.action === "regions.update")).toMatchObject({
      actor: { type: "user", id: login.body.data.user.id, username: admin.username },
      reason: `e2e on ${runtime}`,
    });
  });

  it("replays a POST sent again with the same Idempotency-Key", async () => {
    const body = regionInput();
    const headers = { "idempotency-key": `e2e-${crypto.randomUUID()}` };
    const first = await api<{ id: string }>("POST", "/regions", { body, headers });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await api("POST", "/regions", { body, headers });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from admin.regions where code = ${body.code}`;
    expect(row?.n).toBe(1);
  });

  describe("database connections", () => {
    let regionId: string;
    /** Where each scratch database's connection is, by the binding the Worker has for it. */
    const connections = new Map<RegionalBinding, string>();

    beforeAll(async () => {
      const region = await api<{ id: string }>("POST", "/regions", { body: regionInput() });
      expect(region.status, JSON.stringify(region.body)).toBe(201);
      regionId = region.body.data.id;
      for (const binding of Object.keys(regionalDatabases) as RegionalBinding[]) {
        const db = regionalDatabases[binding];
        const created = await api<{ id: string; has_password: boolean }>("POST", "/databases", {
          body: {
            region_id: regionId,
            connection_name: unique(`${runtime}-${binding.toLowerCase().replace("_", "-")}`),
            connection_type: binding === "REGION_A" ? "primary" : "replica",
            host: db.host,
            port: db.port,
            database_name: db.database,
            username: db.username,
            // Sealed with APP_ENCRYPTION_KEY; a server on trust authentication never asks for
            // it, and on Workers Hyperdrive holds the credentials.
            password: db.password ?? "unused-by-trust-authentication",
            ssl_mode: "disable",
            ...route(binding),
          },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        expect(created.body.data.has_password).toBe(true);
        connections.set(binding, created.body.data.id);
      }
    });

    it(`probes each scratch database (${runtime === "bun" ? "host and port" : "Hyperdrive binding"}) and reaches the one the connection names`, async () => {
      // Each probe is one session on the database it reached. (Not a database that refuses the
      // connection: that resets a socket, which crashes wrangler 4.86's local Hyperdrive proxy.)
      const bindings = [...connections.keys()];
      for (const binding of bindings) {
        const id = connections.get(binding) ?? "";
        const before = await sessionsByBinding();
        const check = await healthCheck(api, [id]);
        expect(check).toMatchObject({ checked: 1, healthy: 1, unhealthy: 0 });
        expect(check.byId.get(id)).toMatchObject({
          ok: true,
          error: null,
          is_healthy: true,
          health_status: "healthy",
        });
        const expected = { ...before, [binding]: (before[binding] ?? 0) + 1 };
        // PostgreSQL counts a session when its backend exits, just after the probe ends.
        await expect.poll(sessionsByBinding, { timeout: 5000 }).toEqual(expected);
      }
      const both = await healthCheck(
        api,
        bindings.map((binding) => connections.get(binding) ?? ""),
      );
      expect(both).toMatchObject({ checked: 2, healthy: 2, unhealthy: 0 });
    });

    // Workers only: the Bun server reaches a connection by host and port, whatever its binding.
    if (runtime !== "workers") return;
    it("reports a connection the Worker has no Hyperdrive binding for as unhealthy, saying why", async () => {
      const db = regionalDatabases.REGION_A;
      const ids: string[] = [];
      for (const hyperdrive_binding of ["REGION_NOT_BOUND", null]) {
        const created = await api<{ id: string }>("POST", "/databases", {
          body: {
            region_id: regionId,
            connection_name: unique("workers-unbound"),
            connection_type: "replica",
            host: db.host,
            port: db.port,
            database_name: db.database,
            username: db.username,
            hyperdrive_binding,
          },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        ids.push(created.body.data.id);
      }
      const [unbound = "", none = ""] = ids;
      const check = await healthCheck(api, ids);
      expect(check).toMatchObject({ checked: 2, healthy: 0, unhealthy: 2 });
      expect(check.byId.get(unbound)).toMatchObject({
        ok: false,
        is_healthy: false,
        health_status: "unhealthy",
        error: `Database connection ${unbound} names Hyperdrive binding REGION_NOT_BOUND, which this Worker does not have`,
      });
      expect(check.byId.get(none)).toMatchObject({
        ok: false,
        error: `Database connection ${none} has no Hyperdrive binding: it cannot be reached from Workers`,
      });
    });
  });
});

describe("workers runtime: an account without permissions", () => {
  it("signs in, and is refused admin routes with 403", async () => {
    // Only the Worker's identity provider has a second account: the Bun server's in-process one
    // holds the superadmin alone.
    const login = await signIn(workerUrl, workerAccounts.reader);
    expect(login.response.status, JSON.stringify(login.body)).toBe(200);
    expect(login.body.data.user.is_superadmin).toBe(false);
    const api = apiAs(workerUrl, login.body.data.access_token);
    const me = await api("GET", "/auth/me");
    expect(me.status).toBe(200);
    const create = await api("POST", "/regions", { body: regionInput() });
    expect(create.status).toBe(403);
    expectErrorEnvelope(create.body, "FORBIDDEN");
    expect(create.body.errors?.[0]?.message).toContain("regions:create");
    const list = await api("GET", "/regions");
    expect(list.status).toBe(403);
  });
});
