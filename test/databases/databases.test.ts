import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passwordContext } from "../../src/core/db/regional-router";
import type { DatabaseConnection } from "../../src/features/databases/schemas";
import type { Region } from "../../src/features/regions/schemas";
import { createRegion } from "../regions/support";
import { type ApiReply, apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import {
  connectionInput,
  createConnection,
  insertTenant,
  testPassword,
  uniqueConnectionName,
} from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;
let region: Region;
/** Every answer of this file, to prove no password or ciphertext was ever in one. */
const bodies: string[] = [];
const passwords: string[] = [];

function track<T>(reply: ApiReply<T>): ApiReply<T> {
  bodies.push(JSON.stringify(reply.body));
  return reply;
}

const client = {
  get: async <T>(path: string, headers?: Record<string, string>) =>
    track(await admin.get<T>(path, headers)),
  post: async <T>(path: string, body: unknown, headers?: Record<string, string>) =>
    track(await admin.post<T>(path, body, headers)),
  put: async <T>(path: string, body: unknown, headers?: Record<string, string>) =>
    track(await admin.put<T>(path, body, headers)),
  delete: async <T>(path: string, headers?: Record<string, string>) =>
    track(await admin.delete<T>(path, headers)),
};

function secretPassword(): string {
  const password = testPassword();
  passwords.push(password);
  return password;
}

async function storedRow(id: string) {
  const [row] = await t.deps.db<
    { encrypted_password: string | null; deleted_at: Date | null; is_active: boolean }[]
  >`select encrypted_password, deleted_at, is_active from admin.database_connections where id = ${id}`;
  return row;
}

async function auditEntries(resourceId: string) {
  return t.deps.db<{ action: string; reason: string | null; before: unknown; after: unknown }[]>`
    select action, reason, before, after from admin.audit_log
    where resource_type = 'database_connection' and resource_id = ${resourceId}
    order by occurred_at, id`;
}

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
  region = await createRegion(admin);
});

afterAll(async () => {
  // Nothing this file did put a password or a sealed value into an answer or a log line.
  const ciphertexts = (
    await t.deps.db<{ encrypted_password: string }[]>`
      select encrypted_password from admin.database_connections
      where region_id = ${region.id} and encrypted_password is not null`
  ).map((r) => r.encrypted_password);
  const everything = `${bodies.join("\n")}\n${t.logText()}`;
  expect(passwords.length).toBeGreaterThan(0);
  expect(ciphertexts.length).toBeGreaterThan(0);
  for (const secret of [...passwords, ...ciphertexts]) expect(everything).not.toContain(secret);
  // Only refusals name the field (to say it cannot be set); no answer ever carries it.
  const answers = bodies.filter((b) => b.startsWith('{"success":true'));
  expect(answers.join("\n")).not.toContain("encrypted_password");
  await t.close();
});

/** A create with these fields is a 400 naming `field`, and no row appears. */
async function expectRefusedAndNothingStored(overrides: Record<string, unknown>, field: string) {
  const input = connectionInput(region.id, overrides);
  const reply = await client.post("/databases", input);
  expect(reply.status).toBe(400);
  expect(firstField(reply)).toBe(field);
  const rows = await t.deps.db`
    select 1 from admin.database_connections where connection_name = ${input.connection_name}`;
  expect(rows).toHaveLength(0);
}

describe("create a database connection", () => {
  it("answers 201 with Location and ETag, seals the password to the row, and audits without it", async () => {
    const password = secretPassword();
    const input = connectionInput(region.id, { password, tags: ["eu"], metadata: { tier: 1 } });
    const reply = await client.post<DatabaseConnection>("/databases", input, {
      "X-Audit-Reason": "new shard",
    });
    expect(reply.status).toBe(201);
    const connection = reply.body.data;
    expect(connection).toMatchObject({
      connection_name: input.connection_name,
      host: "db.example.com",
      port: 5432,
      ssl_mode: "disable",
      username: "postgres",
      has_password: true,
      is_active: true,
      is_healthy: false,
      health_status: null,
      tags: ["eu"],
      metadata: { tier: 1 },
      version: 1,
    });
    expect(connection).not.toHaveProperty("password");
    expect(connection).not.toHaveProperty("encrypted_password");
    expect(reply.headers.get("location")).toBe(`/api/v1/databases/${connection.id}`);
    expect(reply.headers.get("etag")).toBe('"1"');

    const sealed = (await storedRow(connection.id))?.encrypted_password ?? "";
    expect(sealed).toMatch(/^v1:test:/);
    const box = t.deps.secretBox;
    if (!box) throw new Error("the test app has a key");
    expect(await box.open(sealed, passwordContext(connection.id))).toBe(password);
    // Bound to its row: the same ciphertext does not open as another connection's password.
    await expect(box.open(sealed, passwordContext(region.id))).rejects.toThrow();

    const [entry] = await auditEntries(connection.id);
    expect(entry).toMatchObject({ action: "databases.create", reason: "new shard" });
    const image = JSON.stringify(entry?.after);
    expect(image).toContain(input.connection_name);
    expect(image).not.toContain(password);
    expect(image).not.toContain(sealed);
    expect(entry?.after).toMatchObject({ password: "[redacted]" });
  });

  it("stores no password when none is given", async () => {
    const connection = await createConnection(client, region.id);
    expect(connection.has_password).toBe(false);
    expect((await storedRow(connection.id))?.encrypted_password).toBeNull();
  });

  it.each([
    [{ connection_name: "Bad Name" }, "connection_name"],
    [{ connection_type: "master" }, "connection_type"],
    [{ host: "not a host!" }, "host"],
    [{ host: "" }, "host"],
    [{ port: 0 }, "port"],
    [{ port: 70000 }, "port"],
    [{ database_name: "" }, "database_name"],
    [{ ssl_mode: "none" }, "ssl_mode"],
    [{ hyperdrive_binding: "lowercase" }, "hyperdrive_binding"],
    [{ pool_min_size: 9, pool_max_size: 3 }, "pool_min_size"],
    [{ pool_max_size: 0 }, "pool_max_size"],
    [{ password: "" }, "password"],
    [{ region_id: "nope" }, "region_id"],
    [{ region_id: "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70" }, "region_id"],
  ])("refuses %j with 400 naming %s", async (overrides, field) => {
    await expectRefusedAndNothingStored(overrides, field);
  });

  it.each([
    ["encrypted_password", "v1:test:AAAA:AAAA"],
    ["is_healthy", true],
    ["is_active", false],
    ["consecutive_failures", 0],
    ["last_health_check", "2026-01-01T00:00:00Z"],
    ["version", 7],
    ["id", "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70"],
    ["deleted_at", null],
  ])(
    "refuses the server-owned field %s (mass assignment) and stores nothing",
    async (field, value) => {
      await expectRefusedAndNothingStored({ [field]: value }, field);
    },
  );

  it("a taken name is 409 (deleted names too), and so is a live Hyperdrive binding", async () => {
    const binding = `HD_${uniqueConnectionName("x").replaceAll("-", "_").toUpperCase()}`;
    const first = await createConnection(client, region.id, { hyperdrive_binding: binding });
    const sameName = await client.post(
      "/databases",
      connectionInput(region.id, { connection_name: first.connection_name }),
    );
    expect(sameName.status).toBe(409);
    expect(firstField(sameName)).toBe("connection_name");
    const sameBinding = await client.post(
      "/databases",
      connectionInput(region.id, { hyperdrive_binding: binding }),
    );
    expect(sameBinding.status).toBe(409);
    expect(firstField(sameBinding)).toBe("hyperdrive_binding");
    // Deleting releases the binding but not the name.
    expect((await client.delete(`/databases/${first.id}`, { "If-Match": "*" })).status).toBe(200);
    expect(
      (await client.post("/databases", connectionInput(region.id, { hyperdrive_binding: binding })))
        .status,
    ).toBe(201);
    expect(
      (
        await client.post(
          "/databases",
          connectionInput(region.id, { connection_name: first.connection_name }),
        )
      ).status,
    ).toBe(409);
  });

  it("a deactivated region takes no new connection (409)", async () => {
    const closed = await createRegion(admin);
    expect((await admin.delete(`/regions/${closed.id}`, { "If-Match": "*" })).status).toBe(200);
    const reply = await client.post("/databases", connectionInput(closed.id));
    expect(reply.status).toBe(409);
    expect(firstField(reply)).toBe("region_id");
  });

  it("replays the same request for the same Idempotency-Key, 422 for another", async () => {
    const input = connectionInput(region.id, { password: secretPassword() });
    const key = `idem-${input.connection_name}`;
    const first = await client.post<DatabaseConnection>("/databases", input, {
      "Idempotency-Key": key,
    });
    expect(first.status).toBe(201);
    const replay = await client.post<DatabaseConnection>("/databases", input, {
      "Idempotency-Key": key,
    });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.data.id).toBe(first.body.data.id);
    const other = await client.post(
      "/databases",
      { ...input, port: 5433 },
      { "Idempotency-Key": key },
    );
    expect(other.status).toBe(422);
  });
});

describe("read database connections", () => {
  it("gets one with an ETag (304 on If-None-Match); 404 unknown, 400 malformed", async () => {
    const connection = await createConnection(client, region.id, { password: secretPassword() });
    const reply = await client.get<DatabaseConnection>(`/databases/${connection.id}`);
    expect(reply.status).toBe(200);
    expect(reply.body.data).toEqual(connection);
    expect(reply.headers.get("etag")).toBe('"1"');
    expect(
      (await client.get(`/databases/${connection.id}`, { "If-None-Match": '"1"' })).status,
    ).toBe(304);
    expect((await client.get("/databases/0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70")).status).toBe(404);
    const bad = await client.get("/databases/nope");
    expect(bad.status).toBe(400);
    expect(firstField(bad)).toBe("connection_id");
  });

  it("lists with filters, search, sort, pagination and a health summary of the match", async () => {
    const own = await createRegion(admin);
    const tag = uniqueConnectionName("lst");
    const a = await createConnection(client, own.id, { connection_name: `${tag}-a` });
    const b = await createConnection(client, own.id, {
      connection_name: `${tag}-b`,
      connection_type: "analytics",
    });
    const c = await createConnection(client, own.id, { connection_name: `${tag}-c` });
    await t.deps.db`update admin.database_connections
                    set is_healthy = true, last_health_check = now() where id = ${a.id}`;
    await t.deps.db`update admin.database_connections
                    set last_health_check = now(), consecutive_failures = 3 where id = ${b.id}`;
    await client.put(`/databases/${c.id}`, { is_active: false }, { "If-Match": "*" });

    type Page = {
      items: DatabaseConnection[];
      pagination: { total_items: number; has_next: boolean };
      health_summary: Record<string, unknown>;
    };
    const all = await client.get<Page>(`/databases?region_id=${own.id}`);
    expect(all.status).toBe(200);
    expect(all.body.data.items.map((i) => i.connection_name)).toEqual([
      `${tag}-a`,
      `${tag}-b`,
      `${tag}-c`,
    ]);
    expect(all.body.data.health_summary).toMatchObject({
      total: 3,
      active: 2,
      inactive: 1,
      healthy: 1,
      unhealthy: 1,
      degraded: 0,
      never_checked: 0,
    });
    const healthy = await client.get<Page>(`/databases?region_id=${own.id}&is_healthy=true`);
    expect(healthy.body.data.items.map((i) => i.id)).toEqual([a.id]);
    expect(healthy.body.data.items[0]?.health_status).toBe("healthy");
    const analytics = await client.get<Page>(
      `/databases?region_id=${own.id}&connection_type=analytics`,
    );
    expect(analytics.body.data.items.map((i) => i.id)).toEqual([b.id]);
    const inactive = await client.get<Page>(`/databases?search=${tag}&is_active=false`);
    expect(inactive.body.data.items.map((i) => i.id)).toEqual([c.id]);
    const page = await client.get<Page>(
      `/databases?search=${tag}&sort=connection_name&order=desc&page=1&page_size=2`,
    );
    expect(page.body.data.items.map((i) => i.id)).toEqual([c.id, b.id]);
    expect(page.body.data.pagination).toMatchObject({ total_items: 3, has_next: true });
  });

  it.each([
    ["sort=host", "sort"],
    ["is_healthy=maybe", "is_healthy"],
    ["region_id=x", "region_id"],
    ["connection_type=master", "connection_type"],
  ])("refuses ?%s naming %s", async (query, field) => {
    const reply = await client.get(`/databases?${query}`);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });

  it("summarises health overall, per region and per type", async () => {
    const own = await createRegion(admin);
    await createConnection(client, own.id);
    const reply = await client.get<{
      summary: { total: number };
      by_region: { region_id: string; region_code: string; summary: { never_checked: number } }[];
      by_type: { connection_type: string }[];
    }>("/databases/health/summary");
    expect(reply.status).toBe(200);
    expect(reply.body.data.summary.total).toBeGreaterThan(0);
    expect(reply.body.data.by_region.find((r) => r.region_id === own.id)).toMatchObject({
      region_code: own.code,
      summary: { never_checked: 1 },
    });
    expect(reply.body.data.by_type.map((r) => r.connection_type)).toContain("primary");
  });
});

describe("update a database connection (If-Match)", () => {
  it("428 without If-Match, 412 when stale, 200 and a new version when current", async () => {
    const connection = await createConnection(client, region.id);
    const path = `/databases/${connection.id}`;
    expect((await client.put(path, { port: 6432 })).status).toBe(428);
    const ok = await client.put<DatabaseConnection>(path, { port: 6432 }, { "If-Match": '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ port: 6432, version: 2 });
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await client.put(path, { port: 6433 }, { "If-Match": '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"2"');
    expect((await client.get<DatabaseConnection>(path)).body.data.port).toBe(6432);
  });

  it("a new password is sealed again; null removes it; the audit shows neither", async () => {
    const first = secretPassword();
    const connection = await createConnection(client, region.id, { password: first });
    const path = `/databases/${connection.id}`;
    const before = (await storedRow(connection.id))?.encrypted_password;
    const second = secretPassword();
    const changed = await client.put<DatabaseConnection>(
      path,
      { password: second },
      { "If-Match": "*" },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.data.has_password).toBe(true);
    const after = (await storedRow(connection.id))?.encrypted_password ?? "";
    expect(after).not.toBe(before);
    expect(await t.deps.secretBox?.open(after, passwordContext(connection.id))).toBe(second);
    const removed = await client.put<DatabaseConnection>(
      path,
      { password: null },
      { "If-Match": "*" },
    );
    expect(removed.body.data.has_password).toBe(false);
    expect((await storedRow(connection.id))?.encrypted_password).toBeNull();
    const entries = await auditEntries(connection.id);
    expect(entries.map((e) => e.action)).toEqual([
      "databases.create",
      "databases.update",
      "databases.update",
    ]);
    const text = JSON.stringify(entries);
    for (const secret of [first, second, before ?? "", after]) expect(text).not.toContain(secret);
    expect(entries[1]?.after).toMatchObject({ password: "[redacted]" });
    expect(entries[2]?.after).toMatchObject({ password: null });
  });

  it.each([
    [{}, undefined],
    [{ connection_name: "renamed" }, "connection_name"],
    [{ region_id: "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70" }, "region_id"],
    [{ encrypted_password: "v1:test:AAAA:AAAA" }, "encrypted_password"],
    [{ is_healthy: true }, "is_healthy"],
    [{ version: 9 }, "version"],
    [{ consecutive_failures: 0 }, "consecutive_failures"],
    [{ pool_min_size: 5, pool_max_size: 2 }, "pool_min_size"],
  ])("refuses %j with 400 and changes nothing", async (body, field) => {
    const connection = await createConnection(client, region.id);
    const reply = await client.put(`/databases/${connection.id}`, body, { "If-Match": "*" });
    expect(reply.status).toBe(400);
    if (field) expect(firstField(reply)).toBe(field);
    expect((await client.get<DatabaseConnection>(`/databases/${connection.id}`)).body.data).toEqual(
      connection,
    );
  });

  it("a pool size the table refuses with the stored values is a 400 too", async () => {
    const connection = await createConnection(client, region.id, {
      pool_min_size: 1,
      pool_max_size: 4,
    });
    const reply = await client.put(
      `/databases/${connection.id}`,
      { pool_min_size: 10 },
      { "If-Match": "*" },
    );
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe("pool_min_size");
  });

  it("404 for an unknown connection", async () => {
    const reply = await client.put(
      "/databases/0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70",
      { port: 1 },
      { "If-Match": "*" },
    );
    expect(reply.status).toBe(404);
  });
});

describe("deactivate and delete", () => {
  it("is refused (409) while an active tenant is pinned to it, then allowed", async () => {
    const connection = await createConnection(client, region.id, { connection_type: "replica" });
    const tenant = await insertTenant(t.deps.db, {
      regionId: region.id,
      connectionId: connection.id,
    });
    const path = `/databases/${connection.id}`;
    const viaPut = await client.put(path, { is_active: false }, { "If-Match": "*" });
    expect(viaPut.status).toBe(409);
    expect(viaPut.body.message).toContain("1 active tenant");
    const viaDelete = await client.delete(path, { "If-Match": '"1"' });
    expect(viaDelete.status).toBe(409);
    expect((await storedRow(connection.id))?.is_active).toBe(true);

    await t.deps.db`update admin.tenants set status = 'archived' where id = ${tenant.id}`;
    const deleted = await client.delete<DatabaseConnection>(path, { "If-Match": '"1"' });
    expect(deleted.status).toBe(200);
    expect(deleted.body.data.is_active).toBe(false);
    expect((await storedRow(connection.id))?.deleted_at).not.toBeNull();
    expect((await client.get(path)).status).toBe(404);
    expect((await client.delete(path, { "If-Match": "*" })).status).toBe(404);
    const list = await client.get<{ items: DatabaseConnection[] }>(
      `/databases?search=${connection.connection_name}`,
    );
    expect(list.body.data.items).toHaveLength(0);
    expect((await auditEntries(connection.id)).map((e) => e.action)).toEqual([
      "databases.create",
      "databases.delete",
    ]);
  });

  it("will not reroute a region's unpinned tenants to another primary (409)", async () => {
    const own = await createRegion(admin);
    const first = await createConnection(client, own.id);
    const second = await createConnection(client, own.id);
    await insertTenant(t.deps.db, { regionId: own.id });
    for (const change of [{ is_active: false }, { connection_type: "replica" }]) {
      const reply = await client.put(`/databases/${first.id}`, change, { "If-Match": "*" });
      expect(reply.status, JSON.stringify(change)).toBe(409);
    }
    expect((await client.delete(`/databases/${first.id}`, { "If-Match": "*" })).status).toBe(409);
    // The second primary routes nobody: it may go.
    expect((await client.delete(`/databases/${second.id}`, { "If-Match": "*" })).status).toBe(200);
  });

  it("428 without If-Match, 412 with a stale one", async () => {
    const connection = await createConnection(client, region.id);
    expect((await client.delete(`/databases/${connection.id}`)).status).toBe(428);
    expect((await client.delete(`/databases/${connection.id}`, { "If-Match": '"7"' })).status).toBe(
      412,
    );
  });
});

describe("permissions", () => {
  it("users without databases:* get 403 everywhere, and nothing is written", async () => {
    const connection = await createConnection(client, region.id);
    const outsider = await apiClient(t, await t.createUser({ permissions: ["regions:read"] }));
    const path = `/databases/${connection.id}`;
    expect((await outsider.get("/databases")).status).toBe(403);
    expect((await outsider.get("/databases/health/summary")).status).toBe(403);
    expect((await outsider.get(path)).status).toBe(403);
    expect((await outsider.put(path, { port: 1 }, { "If-Match": "*" })).status).toBe(403);
    expect((await outsider.delete(path, { "If-Match": "*" })).status).toBe(403);
    expect((await outsider.post("/databases/health-check", {})).status).toBe(403);
    const input = connectionInput(region.id);
    expect((await outsider.post("/databases", input)).status).toBe(403);
    const rows = await t.deps.db`
      select 1 from admin.database_connections where connection_name = ${input.connection_name}`;
    expect(rows).toHaveLength(0);
    expect((await storedRow(connection.id))?.is_active).toBe(true);
  });

  it("databases:read reads but cannot write or probe", async () => {
    const connection = await createConnection(client, region.id);
    const viewer = await apiClient(t, await t.createUser({ permissions: ["databases:read"] }));
    expect((await viewer.get(`/databases/${connection.id}`)).status).toBe(200);
    expect((await viewer.post("/databases", connectionInput(region.id))).status).toBe(403);
    expect(
      (await viewer.put(`/databases/${connection.id}`, { port: 1 }, { "If-Match": "*" })).status,
    ).toBe(403);
    expect((await viewer.post("/databases/health-check", {})).status).toBe(403);
  });
});

describe("without an encryption key", () => {
  it("answers 503 for writes that carry a password, and still serves the rest", async () => {
    const keyless = await createTestApp({ APP_ENCRYPTION_KEY: "" });
    try {
      expect(keyless.deps.secretBox).toBeUndefined();
      const c = await apiClient(keyless, await keyless.createUser({ roles: ["platform_admin"] }));
      const input = connectionInput(region.id, { password: secretPassword() });
      const refused = await c.post("/databases", input);
      bodies.push(JSON.stringify(refused.body));
      expect(refused.status).toBe(503);
      expect(refused.body.message).toContain("APP_ENCRYPTION_KEY");
      const rows = await keyless.deps.db`
        select 1 from admin.database_connections where connection_name = ${input.connection_name}`;
      expect(rows).toHaveLength(0);
      const plain = await c.post("/databases", connectionInput(region.id));
      expect(plain.status).toBe(201);
    } finally {
      await keyless.close();
    }
  });
});
