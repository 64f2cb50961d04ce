import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemAuditContext } from "../../src/core/audit/audit-log";
import { PERMISSION_EXTENSION } from "../../src/core/auth/protected-route";
import { syncPermissions } from "../../src/features/permissions/service";
import { type ApiClient, apiClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";

/** The permissions API: the registry, checks of the caller's own codes, and the sync. */
let t: TestApp;
let admin: ApiClient;

beforeAll(async () => {
  t = await createTestApp();
  admin = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
});
afterAll(() => t.close());

interface Permission {
  code: string;
  resource: string;
  scope_level: string;
  is_dangerous: boolean;
}

async function auditOf(requestId: string | null) {
  return t.deps.db<
    {
      action: string;
      actor_type: string;
      actor_id: string | null;
      reason: string | null;
      after: unknown;
    }[]
  >`select action, actor_type, actor_id, reason, after from admin.audit_log
    where action = 'permissions.sync' and request_id = ${requestId ?? ""} order by id`;
}

/** A document declaring one code, as the app's would (the route declaration's extension). */
const documentDeclaring = (code: string, dangerous = false) => ({
  paths: { "/x": { get: { [PERMISSION_EXTENSION]: { code, dangerous } } } },
});

describe("GET /permissions", () => {
  it("pages through the registry in code order, filtered by scope, resource and search", async () => {
    const page = await admin.get<{ items: Permission[]; pagination: { total_items: number } }>(
      "/permissions?page_size=10",
    );
    expect(page.status).toBe(200);
    const codes = page.body.data.items.map((p) => p.code);
    expect(codes).toHaveLength(10);
    expect(codes).toEqual([...codes].sort());
    expect(page.body.data.pagination.total_items).toBeGreaterThanOrEqual(79);

    const tenant = await admin.get<{ items: Permission[] }>(
      "/permissions?scope=tenant&page_size=100",
    );
    expect(tenant.body.data.items.length).toBeGreaterThan(0);
    expect(tenant.body.data.items.every((p) => p.scope_level === "tenant")).toBe(true);

    const users = await admin.get<{ items: Permission[] }>(
      "/permissions?resource=users&page_size=100",
    );
    expect(users.body.data.items.map((p) => p.code)).toContain("users:read");
    expect(users.body.data.items.every((p) => p.resource === "users")).toBe(true);

    const search = await admin.get<{ items: Permission[] }>("/permissions?search=execute");
    const found = search.body.data.items.map((p) => p.code);
    expect(found).toContain("database:execute");
    expect(found).not.toContain("users:read");
  });

  it("rejects bad filters with 400 naming the field", async () => {
    for (const [query, field] of [
      ["scope=galaxy", "scope"],
      ["resource=Users!", "resource"],
      ["page_size=101", "page_size"],
    ]) {
      const reply = await admin.get(`/permissions?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.errors?.[0]?.field, query).toBe(field);
    }
  });
});

describe("GET /permissions/check", () => {
  it("answers for each code whether the caller holds it", async () => {
    const user = await apiClient(t, await t.createUser({ permissions: ["users:read"] }));
    const reply = await user.get<{ permissions: Record<string, boolean>; is_superadmin: boolean }>(
      "/permissions/check?permissions=users:read, roles:assign,users:*",
    );
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      user_id: user.user.id,
      tenant_id: null,
      is_superadmin: false,
      permissions: { "users:read": true, "roles:assign": false, "users:*": false },
    });
  });

  it("a superadmin holds every code", async () => {
    const root = await apiClient(t, await t.createUser({ superadmin: true }));
    const reply = await root.get<{ permissions: Record<string, boolean> }>(
      "/permissions/check?permissions=platform:admin,users:delete",
    );
    expect(reply.body.data.permissions).toEqual({ "platform:admin": true, "users:delete": true });
  });

  it("validates the codes and the tenant id", async () => {
    for (const query of [
      "permissions=",
      "permissions=Users:Read",
      "permissions=users:read&tenant_id=x",
    ]) {
      expect((await admin.get(`/permissions/check?${query}`)).status, query).toBe(400);
    }
    const many = Array.from({ length: 51 }, (_, i) => `r${i}:read`).join(",");
    expect((await admin.get(`/permissions/check?permissions=${many}`)).status).toBe(400);
  });
});

describe("POST /permissions/sync and GET /permissions/sync-status", () => {
  it("a dry run reports and writes nothing; a sync leaves nothing missing", async () => {
    const dry = await admin.post<{ declared: number; created: string[]; dry_run: boolean }>(
      "/permissions/sync",
      { dry_run: true },
    );
    expect(dry.status).toBe(200);
    expect(dry.body.data.dry_run).toBe(true);
    expect(dry.body.data.declared).toBeGreaterThan(20);
    expect(await auditOf(dry.headers.get("x-request-id"))).toEqual([]);

    const sync = await admin.post<{ created: string[]; unchanged: number }>(
      "/permissions/sync",
      {},
    );
    expect(sync.status).toBe(200);
    const status = await admin.get<{
      missing: string[];
      declared_by_routes: number;
      total: number;
      platform: number;
      tenant: number;
    }>("/permissions/sync-status");
    expect(status.status).toBe(200);
    expect(status.body.data.missing).toEqual([]);
    expect(status.body.data.declared_by_routes).toBe(dry.body.data.declared);
    expect(status.body.data.platform + status.body.data.tenant).toBeLessThanOrEqual(
      status.body.data.total,
    );

    // Nothing left to change: nothing written, nothing audited.
    const again = await admin.post<{ created: string[]; updated: string[] }>(
      "/permissions/sync",
      {},
    );
    expect(again.body.data).toMatchObject({ created: [], updated: [] });
    expect(await auditOf(again.headers.get("x-request-id"))).toEqual([]);
  });

  it("force_update raises a lowered dangerous flag, audited with the caller and reason", async () => {
    await admin.post("/permissions/sync", {});
    await t.deps.db`update admin.platform_permissions set is_dangerous = false
                    where code = 'organizations:delete'`;
    const plain = await admin.post<{ updated: string[] }>("/permissions/sync", {});
    expect(plain.body.data.updated).toEqual([]);

    const forced = await admin.post<{ updated: string[] }>(
      "/permissions/sync",
      { force_update: true },
      { "X-Audit-Reason": "restore flags" },
    );
    expect(forced.status).toBe(200);
    expect(forced.body.data.updated).toContain("organizations:delete");
    const [row] = await t.deps.db<{ is_dangerous: boolean }[]>`
      select is_dangerous from admin.platform_permissions where code = 'organizations:delete'`;
    expect(row?.is_dangerous).toBe(true);
    const entries = await auditOf(forced.headers.get("x-request-id"));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_type: "user",
      actor_id: admin.user.id,
      reason: "restore flags",
      after: {
        created: [],
        updated: expect.arrayContaining(["organizations:delete"]),
        force_update: true,
      },
    });
  });

  it("refuses unknown fields in the body", async () => {
    const reply = await admin.post("/permissions/sync", { dryrun: true });
    expect(reply.status).toBe(400);
  });
});

describe("syncPermissions (the start-up sync)", () => {
  it("adds a new code once, audited as the system, even when two replicas sync at once", async () => {
    const code = `zsync${Math.random().toString(36).slice(2, 10)}:read`;
    const document = documentDeclaring(code);
    const audit = systemAuditContext("synced at start");
    const reports = await Promise.all(
      [0, 1].map(() =>
        syncPermissions(t.deps.db, document, { dryRun: false, forceUpdate: false, audit }),
      ),
    );
    expect(reports.map((r) => r.created).sort()).toEqual([[], [code]]);
    const entries = await t.deps.db<
      { actor_type: string; request_id: string | null; after: { created: string[] } }[]
    >`
      select actor_type, request_id, after from admin.audit_log
      where action = 'permissions.sync' and after->'created' ? ${code}`;
    expect(entries).toEqual([
      {
        actor_type: "system",
        request_id: null,
        after: { created: [code], updated: [], force_update: false },
      },
    ]);
  });
});
