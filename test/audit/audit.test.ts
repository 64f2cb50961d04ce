import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/features/audit/schemas";
import { createRegion } from "../regions/support";
import { type ApiClient, apiClient, firstField } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";

let t: TestApp;
let admin: ApiClient;
let auditor: ApiClient;

beforeAll(async () => {
  t = await createTestApp();
  admin = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
  auditor = await apiClient(t, await t.createUser({ roles: ["platform_auditor"] }));
});
afterAll(() => t.close());

interface Page {
  items: AuditEntry[];
  pagination: { page_size: number; has_next: boolean; next_cursor: string | null };
}

describe("GET /audit", () => {
  it("lists entries newest first, filtered, and pages by cursor without gaps or repeats", async () => {
    const region = await createRegion(admin);
    for (const priority of [1, 2, 3, 4]) {
      const reply = await admin.put(
        `/regions/${region.id}`,
        { priority },
        { "If-Match": "*", "X-Audit-Reason": `step ${priority}` },
      );
      expect(reply.status).toBe(200);
    }
    const seen: AuditEntry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/audit?resource_type=region&resource_id=${region.id}&page_size=2${cursor ? `&cursor=${cursor}` : ""}`;
      const reply = await auditor.get<Page>(query);
      expect(reply.status).toBe(200);
      seen.push(...reply.body.data.items);
      cursor = reply.body.data.pagination.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.action)).toEqual([
      "regions.update",
      "regions.update",
      "regions.update",
      "regions.update",
      "regions.create",
    ]);
    expect(seen.map((e) => e.reason)).toEqual(["step 4", "step 3", "step 2", "step 1", null]);
    expect(new Set(seen.map((e) => e.id)).size).toBe(5);
    expect(seen[0]).toMatchObject({
      actor: { type: "user", id: admin.user.id, username: admin.user.username },
      resource_type: "region",
      resource_id: region.id,
    });
    expect(seen[0]?.before).toMatchObject({ priority: 3 });
    expect(seen[0]?.after).toMatchObject({ priority: 4 });
  });

  it("filters by actor, action and time", async () => {
    const region = await createRegion(admin);
    const byActor = await auditor.get<Page>(
      `/audit?actor_id=${admin.user.id}&action=regions.create&page_size=100`,
    );
    expect(byActor.body.data.items.some((e) => e.resource_id === region.id)).toBe(true);
    expect(byActor.body.data.items.every((e) => e.action === "regions.create")).toBe(true);
    const future = await auditor.get<Page>(
      `/audit?from=${encodeURIComponent("2999-01-01T00:00:00Z")}`,
    );
    expect(future.body.data.items).toEqual([]);
    expect(future.body.data.pagination).toEqual({
      page_size: 20,
      has_next: false,
      next_cursor: null,
    });
  });

  it.each([
    ["cursor=not-a-cursor", "cursor"],
    [`cursor=${btoa(JSON.stringify(["x", 1]))}`, "cursor"],
    ["actor_id=42", "actor_id"],
    ["from=yesterday", "from"],
    ["action=DROP TABLE", "action"],
    ["page_size=500", "page_size"],
  ])("refuses ?%s naming %s", async (query, field) => {
    const reply = await auditor.get(`/audit?${query}`);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });

  it("is refused without audit:read", async () => {
    const viewer = await apiClient(t, await t.createUser({ roles: ["platform_viewer"] }));
    const reply = await viewer.get("/audit");
    expect(reply.status).toBe(403);
  });
});

describe("GET /audit/export", () => {
  it("streams every matching entry as NDJSON", async () => {
    const region = await createRegion(admin);
    await admin.put(`/regions/${region.id}`, { priority: 9 }, { "If-Match": '"1"' });
    const res = await t.request(`/api/v1/audit/export?resource_id=${region.id}`, {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as AuditEntry);
    expect(lines.map((e) => e.action)).toEqual(["regions.update", "regions.create"]);
  });

  it("needs audit:export: a reader with audit:read only is refused", async () => {
    const reader = await apiClient(t, await t.createUser({ permissions: ["audit:read"] }));
    expect((await reader.get("/audit")).status).toBe(200);
    const res = await t.request("/api/v1/audit/export", {
      headers: { authorization: `Bearer ${reader.token}` },
    });
    expect(res.status).toBe(403);
  });
});
