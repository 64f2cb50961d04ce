import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Region } from "../../src/features/regions/schemas";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { createRegion, regionInput, uniqueRegionCode } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

async function auditEntries(resourceId: string) {
  return t.deps.db<
    {
      action: string;
      actor_id: string | null;
      reason: string | null;
      before: unknown;
      after: unknown;
      request_id: string;
    }[]
  >`select action, actor_id, reason, before, after, request_id from admin.audit_log
    where resource_type = 'region' and resource_id = ${resourceId} order by occurred_at, id`;
}

describe("create a region", () => {
  it("answers 201 with the region, its Location and ETag, and writes an audit entry", async () => {
    const input = regionInput();
    const reply = await admin.post<Region>("/regions", input, { "X-Audit-Reason": "new market" });
    expect(reply.status).toBe(201);
    const region = reply.body.data;
    expect(region).toMatchObject({
      code: input.code,
      country_code: "IE",
      is_active: true,
      accepts_new_tenants: true,
      current_tenants: 0,
      provider: "Docker",
      version: 1,
    });
    expect(reply.headers.get("location")).toBe(`/api/v1/regions/${region.id}`);
    expect(reply.headers.get("etag")).toBe('"1"');
    const [entry] = await auditEntries(region.id);
    expect(entry).toMatchObject({
      action: "regions.create",
      reason: "new market",
      before: null,
      request_id: reply.body.metadata.request_id,
    });
    expect(entry?.after).toMatchObject({ code: input.code });
  });

  it("a taken code is 409 naming the field, and nothing else is written", async () => {
    const first = await createRegion(admin);
    const reply = await admin.post("/regions", regionInput({ code: first.code }));
    expect(reply.status).toBe(409);
    expect(firstField(reply)).toBe("code");
    const [{ n } = { n: -1 }] = await t.deps.db<{ n: number }[]>`
      select count(*)::int as n from admin.regions where code = ${first.code}`;
    expect(n).toBe(1);
  });

  it.each([
    [{ code: "EU_West" }, "code"],
    [{ country_code: "XX" }, "country_code"],
    [{ country_code: "ie" }, "country_code"],
    [{ continent: "Atlantis" }, "continent"],
    [{ max_tenants: -1 }, "max_tenants"],
    [{ name: "" }, "name"],
  ])("refuses %j with 400 naming %s", async (overrides, field) => {
    const reply = await admin.post("/regions", regionInput(overrides));
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });

  it.each([["is_active"], ["current_tenants"], ["version"], ["id"], ["created_at"]])(
    "refuses the server-owned field %s (mass assignment) and stores nothing",
    async (field) => {
      const input = regionInput({ [field]: field === "is_active" ? false : 5 });
      const reply = await admin.post("/regions", input);
      expect(reply.status).toBe(400);
      expect(firstField(reply)).toBe(field);
      const rows = await t.deps.db`select 1 from admin.regions where code = ${input.code}`;
      expect(rows).toHaveLength(0);
    },
  );
});

describe("read regions", () => {
  it("gets one by id and by code, with an ETag that answers If-None-Match with 304", async () => {
    const region = await createRegion(admin);
    const byId = await admin.get<Region>(`/regions/${region.id}`);
    expect(byId.status).toBe(200);
    expect(byId.body.data).toEqual(region);
    expect(byId.headers.get("etag")).toBe('"1"');
    expect(byId.headers.get("cache-control")).toBe("private, no-cache");
    const byCode = await admin.get<Region>(`/regions/code/${region.code}`);
    expect(byCode.body.data.id).toBe(region.id);
    const again = await admin.get(`/regions/${region.id}`, { "If-None-Match": '"1"' });
    expect(again.status).toBe(304);
  });

  it("404 for an unknown id or code, 400 for a malformed one", async () => {
    expect((await admin.get("/regions/0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70")).status).toBe(404);
    expect((await admin.get("/regions/code/nowhere-1")).status).toBe(404);
    const bad = await admin.get("/regions/not-a-uuid");
    expect(bad.status).toBe(400);
    expect(firstField(bad)).toBe("region_id");
  });

  it("lists with filters, search, sort and pagination", async () => {
    const tag = uniqueRegionCode("lst");
    const made = [
      await createRegion(admin, { code: `${tag}-a`, priority: 5, gdpr_region: true }),
      await createRegion(admin, {
        code: `${tag}-b`,
        priority: 7,
        gdpr_region: false,
        continent: "Asia",
        country_code: "JP",
      }),
      await createRegion(admin, { code: `${tag}-c`, priority: 6, gdpr_region: true }),
    ];
    const all = await admin.get<{ items: Region[]; pagination: { total_items: number } }>(
      `/regions?search=${tag}&page_size=100`,
    );
    expect(all.body.data.items.map((r) => r.code)).toEqual([`${tag}-b`, `${tag}-c`, `${tag}-a`]);
    expect(all.body.data.pagination.total_items).toBe(3);

    const gdpr = await admin.get<{ items: Region[] }>(
      `/regions?search=${tag}&gdpr_region=true&sort=code`,
    );
    expect(gdpr.body.data.items.map((r) => r.code)).toEqual([`${tag}-a`, `${tag}-c`]);
    const asia = await admin.get<{ items: Region[] }>(`/regions?search=${tag}&continent=Asia`);
    expect(asia.body.data.items.map((r) => r.id)).toEqual([made[1]?.id]);

    const page2 = await admin.get<{ items: Region[]; pagination: Record<string, unknown> }>(
      `/regions?search=${tag}&sort=code&order=desc&page=2&page_size=2`,
    );
    expect(page2.body.data.items.map((r) => r.code)).toEqual([`${tag}-a`]);
    expect(page2.body.data.pagination).toMatchObject({
      page: 2,
      total_pages: 2,
      has_next: false,
      has_previous: true,
    });
  });

  it.each([
    ["sort=provider_region", "sort"],
    ["page_size=101", "page_size"],
    ["is_active=yes", "is_active"],
  ])("refuses ?%s naming %s", async (query, field) => {
    const reply = await admin.get(`/regions?${query}`);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });
});

describe("update a region (If-Match)", () => {
  it("428 without If-Match, 412 with a stale ETag, 200 with the current one (version bumps)", async () => {
    const region = await createRegion(admin);
    const path = `/regions/${region.id}`;
    const missing = await admin.put(path, { priority: 42 });
    expect(missing.status).toBe(428);
    const ok = await admin.put<Region>(path, { priority: 42 }, { "If-Match": '"1"' });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ priority: 42, version: 2 });
    expect(ok.headers.get("etag")).toBe('"2"');
    const stale = await admin.put(path, { priority: 43 }, { "If-Match": '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get("etag")).toBe('"2"');
    const weak = await admin.put(path, { priority: 43 }, { "If-Match": 'W/"2"' });
    expect(weak.status).toBe(412);
    // The read after a write sees the write (the cached copy was dropped).
    expect((await admin.get<Region>(path)).body.data.priority).toBe(42);
    const any = await admin.put<Region>(path, { priority: 44 }, { "If-Match": "*" });
    expect(any.body.data.version).toBe(3);
    const actions = (await auditEntries(region.id)).map((e) => e.action);
    expect(actions).toEqual(["regions.create", "regions.update", "regions.update"]);
  });

  it("refuses fields that cannot change and an empty body", async () => {
    const region = await createRegion(admin);
    for (const body of [{ code: "other" }, { current_tenants: 3 }, {}]) {
      const reply = await admin.put(`/regions/${region.id}`, body, { "If-Match": "*" });
      expect(reply.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("404 for an unknown region", async () => {
    const reply = await admin.put(
      "/regions/0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70",
      { priority: 1 },
      { "If-Match": '"1"' },
    );
    expect(reply.status).toBe(404);
  });
});

describe("deactivate a region", () => {
  it("is refused while the region has an active database connection, then allowed", async () => {
    const region = await createRegion(admin);
    const [conn] = await t.deps.db<{ id: string }[]>`
      insert into admin.database_connections (region_id, connection_name, connection_type, host, database_name)
      values (${region.id}, ${`c-${region.code}`}, 'primary', 'db.example.com', 'x') returning id`;
    const refused = await admin.delete(`/regions/${region.id}`, { "If-Match": '"1"' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain("1 active database connection");
    const viaUpdate = await admin.put(
      `/regions/${region.id}`,
      { is_active: false },
      { "If-Match": "*" },
    );
    expect(viaUpdate.status).toBe(409);

    await t.deps
      .db`update admin.database_connections set is_active = false where id = ${conn?.id ?? ""}`;
    const done = await admin.delete<Region>(`/regions/${region.id}`, { "If-Match": '"1"' });
    expect(done.status).toBe(200);
    expect(done.body.data).toMatchObject({
      is_active: false,
      accepts_new_tenants: false,
      version: 2,
    });
    expect((await auditEntries(region.id)).map((e) => e.action)).toContain("regions.deactivate");
  });
});

describe("recount a region's tenants", () => {
  it("counts live tenants and records the change", async () => {
    const region = await createRegion(admin);
    const [org] = await t.deps.db<{ id: string }[]>`
      insert into admin.organizations (name, slug) values ('Org', ${`o-${region.code}`}) returning id`;
    for (const [i, status] of (["active", "suspended", "archived"] as const).entries()) {
      const slug = `t${i}-${region.code}`.slice(0, 54);
      await t.deps.db`
        insert into admin.tenants (organization_id, slug, name, schema_name, region_id,
                                   external_auth_realm, external_user_id, status)
        values (${org?.id ?? ""}, ${slug}, 'T', ${`tenant_${slug.replace(/-/g, "_")}`}, ${region.id},
                'tenant-realm', 'x', ${status})`;
    }
    const reply = await admin.post<{
      region: Region;
      previous_count: number;
      current_tenants: number;
    }>(`/regions/${region.id}/update-tenant-count`, {});
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({ previous_count: 0, current_tenants: 2 });
    expect(reply.body.data.region.current_tenants).toBe(2);
  });
});

describe("Idempotency-Key on create", () => {
  it("replays the first answer for the same request, 422 for a different one", async () => {
    const client = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const input = regionInput();
    const key = `idem-${input.code}`;
    const first = await client.post<Region>("/regions", input, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    const replay = await client.post<Region>("/regions", input, { "Idempotency-Key": key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.data.id).toBe(first.body.data.id);
    expect(replay.headers.get("location")).toBe(first.headers.get("location"));
    const rows = await t.deps.db`select 1 from admin.regions where code = ${input.code}`;
    expect(rows).toHaveLength(1);

    const different = await client.post(
      "/regions",
      { ...input, name: "Other" },
      { "Idempotency-Key": key },
    );
    expect(different.status).toBe(422);
    expect(different.body.errors?.[0]?.code).toBe("IDEMPOTENCY_KEY_REUSED");

    // Keys belong to their user: another user's same key runs on its own (and hits the 409).
    const other = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const theirs = await other.post("/regions", input, { "Idempotency-Key": key });
    expect(theirs.status).toBe(409);
  });

  it("a malformed key is 400 naming the header", async () => {
    const reply = await admin.post("/regions", regionInput(), { "Idempotency-Key": "" });
    expect(reply.status).toBe(400);
  });
});

describe("permissions", () => {
  it("a regions:read user reads but cannot create (403), and nothing is written", async () => {
    const viewer = await apiClient(t, await t.createUser({ permissions: ["regions:read"] }));
    expect((await viewer.get("/regions")).status).toBe(200);
    const input = regionInput();
    expect((await viewer.post("/regions", input)).status).toBe(403);
    expect(await t.deps.db`select 1 from admin.regions where code = ${input.code}`).toHaveLength(0);
  });
});
