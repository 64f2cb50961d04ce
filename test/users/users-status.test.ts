import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlatformUser } from "../../src/features/users/schemas";
import { apiClient, firstField, rotatingClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { auditEntries, createUser } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingClient>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingClient(t);
});
afterAll(() => t.close());

const UNKNOWN = "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70";

describe("POST /users/{user_id}/status", () => {
  it("a deactivated user's very next request (same, still valid token) is 403; reactivation restores it", async () => {
    const user = await t.createUser({ roles: ["platform_operator"] });
    const client = await apiClient(t, user);
    expect((await client.get("/users?page_size=1")).status).toBe(200);
    expect((await client.get("/users/me")).status).toBe(200);

    const off = await admin.post<PlatformUser>(`/users/${user.id}/status`, {
      is_active: false,
      reason: "left the company",
    });
    expect(off.status).toBe(200);
    expect(off.body.data).toMatchObject({ is_active: false, version: 2 });
    expect(off.headers.get("etag")).toBe('"2"');
    const refused = await client.get("/users?page_size=1");
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain("deactivated");
    expect((await client.get("/users/me")).status).toBe(403);

    const on = await admin.post<PlatformUser>(`/users/${user.id}/status`, { is_active: true });
    expect(on.body.data.is_active).toBe(true);
    expect((await client.get("/users?page_size=1")).status).toBe(200);

    const entries = (await auditEntries(t, user.id)).filter(
      (e) => e.action === "users.update_status",
    );
    expect(entries.map((e) => [e.before?.is_active, e.after?.is_active, e.reason])).toEqual([
      [true, false, "left the company"],
      [false, true, null],
    ]);
  });

  it("setting the current status changes nothing and writes no entry", async () => {
    const user = await createUser(admin);
    const same = await admin.post<PlatformUser>(`/users/${user.id}/status`, { is_active: true });
    expect(same.status).toBe(200);
    expect(same.body.data.version).toBe(1);
    expect((await auditEntries(t, user.id)).map((e) => e.action)).toEqual(["users.create"]);
  });

  it("refuses deactivating yourself (409) and a superadmin when you are not one (403)", async () => {
    const caller = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const self = await caller.post(`/users/${caller.user.id}/status`, { is_active: false });
    expect(self.status).toBe(409);
    const root = await t.createUser({ superadmin: true });
    expect((await caller.post(`/users/${root.id}/status`, { is_active: false })).status).toBe(403);
    const [row] = await t.deps.db<{ is_active: boolean }[]>`
      select is_active from admin.platform_users where id = ${root.id}`;
    expect(row?.is_active).toBe(true);
  });

  it.each([
    [{}, "is_active"],
    [{ is_active: "no" }, "is_active"],
    [{ is_active: false, reason: "a\nb" }, "reason"],
    [{ is_active: false, reason: "x".repeat(501) }, "reason"],
    [{ is_active: false, is_superadmin: true }, "is_superadmin"],
  ])("refuses %j naming %s", async (body, field) => {
    const user = await createUser(admin);
    const reply = await admin.post(`/users/${user.id}/status`, body);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });

  it("404 for an unknown user", async () => {
    expect((await admin.post(`/users/${UNKNOWN}/status`, { is_active: false })).status).toBe(404);
  });
});

describe("a deleted user", () => {
  it("is refused from their very next request", async () => {
    const user = await t.createUser({ roles: ["platform_operator"] });
    const client = await apiClient(t, user);
    expect((await client.get("/users/me")).status).toBe(200);
    expect((await admin.delete(`/users/${user.id}`, { "If-Match": "*" })).status).toBe(200);
    expect((await client.get("/users/me")).status).toBe(403);
  });
});

interface BulkResult {
  operation: string;
  requested: number;
  changed: number;
  unchanged: number;
  failed: number;
  results: { user_id: string; outcome: string; error: { code: string; message: string } | null }[];
}

describe("POST /users/bulk", () => {
  it("answers per item: changed, unchanged and failed, one audit entry per change", async () => {
    const caller = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
    const [a, b, c] = [await createUser(admin), await createUser(admin), await createUser(admin)];
    await admin.post(`/users/${c.id}/status`, { is_active: false });
    const root = await t.createUser({ superadmin: true });
    const ids = [a.id, UNKNOWN, b.id, c.id, caller.user.id, root.id];
    const reply = await caller.post<BulkResult>("/users/bulk", {
      user_ids: ids,
      operation: "deactivate",
      reason: "quarterly review",
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      operation: "deactivate",
      requested: 6,
      changed: 2,
      unchanged: 1,
      failed: 3,
    });
    expect(
      reply.body.data.results.map((r) => [r.user_id, r.outcome, r.error?.code ?? null]),
    ).toEqual([
      [a.id, "changed", null],
      [UNKNOWN, "failed", "NOT_FOUND"],
      [b.id, "changed", null],
      [c.id, "unchanged", null],
      [caller.user.id, "failed", "CONFLICT"],
      [root.id, "failed", "FORBIDDEN"],
    ]);
    const [entry] = (await auditEntries(t, a.id)).filter(
      (e) => e.action === "users.bulk_deactivate",
    );
    expect(entry).toMatchObject({ actor_id: caller.user.id, reason: "quarterly review" });
    expect((await auditEntries(t, c.id)).map((e) => e.action)).not.toContain(
      "users.bulk_deactivate",
    );
    const rows = await t.deps.db<{ id: string; is_active: boolean }[]>`
      select id, is_active from admin.platform_users where id = any(${[a.id, b.id, root.id]}::uuid[])`;
    expect(Object.fromEntries(rows.map((r) => [r.id, r.is_active]))).toEqual({
      [a.id]: false,
      [b.id]: false,
      [root.id]: true,
    });
  });

  it("activates and deletes; deleted users' requests are refused at once", async () => {
    const victim = await t.createUser();
    const victimClient = await apiClient(t, victim);
    expect((await victimClient.get("/users/me")).status).toBe(200);
    const other = await createUser(admin);
    await admin.post(`/users/${other.id}/status`, { is_active: false });
    const activated = await admin.post<BulkResult>("/users/bulk", {
      user_ids: [other.id],
      operation: "activate",
    });
    expect(activated.body.data.changed).toBe(1);
    const deleted = await admin.post<BulkResult>("/users/bulk", {
      user_ids: [victim.id, other.id],
      operation: "delete",
    });
    expect(deleted.body.data).toMatchObject({ changed: 2, failed: 0 });
    expect((await victimClient.get("/users/me")).status).toBe(403);
    expect((await admin.get(`/users/${other.id}`)).status).toBe(404);
    expect((await auditEntries(t, other.id)).map((e) => e.action)).toEqual([
      "users.create",
      "users.update_status",
      "users.bulk_activate",
      "users.bulk_delete",
    ]);
    const again = await admin.post<BulkResult>("/users/bulk", {
      user_ids: [other.id],
      operation: "delete",
    });
    expect(again.body.data.results[0]?.error?.code).toBe("NOT_FOUND");
  });

  it("also needs the single-user permission of the operation", async () => {
    const user = await createUser(admin);
    const bulkOnly = await apiClient(
      t,
      await t.createUser({ permissions: ["users:bulk_operations", "users:update_status"] }),
    );
    const del = await bulkOnly.post("/users/bulk", { user_ids: [user.id], operation: "delete" });
    expect(del.status).toBe(403);
    expect(del.body.message).toContain("users:delete");
    const off = await bulkOnly.post<BulkResult>("/users/bulk", {
      user_ids: [user.id],
      operation: "deactivate",
    });
    expect(off.status).toBe(200);
    expect(off.body.data.changed).toBe(1);
  });

  it.each([
    [{ user_ids: [], operation: "delete" }, "user_ids"],
    [
      { user_ids: Array.from({ length: 101 }, () => crypto.randomUUID()), operation: "delete" },
      "user_ids",
    ],
    [{ user_ids: [UNKNOWN, UNKNOWN], operation: "delete" }, "user_ids"],
    [{ user_ids: ["nope"], operation: "delete" }, "user_ids.0"],
    [{ user_ids: [UNKNOWN], operation: "purge" }, "operation"],
    [{ user_ids: [UNKNOWN], operation: "delete", force: true }, "force"],
  ])("refuses %j naming %s", async (body, field) => {
    const reply = await admin.post("/users/bulk", body);
    expect(reply.status).toBe(400);
    expect(firstField(reply)).toBe(field);
  });
});
