import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { CacheUnavailableError } from "../../src/core/cache/errors";
import { createSql } from "../../src/core/db/admin";
import { createTestApp, type TestApp } from "../support/harness";
import {
  type AssignmentJson,
  clientFor,
  createRole,
  firstField,
  type RoleJson,
  roleIdOf,
  rotatingAdmin,
} from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingAdmin>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingAdmin(t);
});
afterAll(() => t.close());

interface UserRoles {
  user_id: string;
  roles: AssignmentJson[];
}
interface BulkReport {
  assigned: { user_id: string; role_id: number }[];
  already_assigned: { user_id: string; role_id: number }[];
}

async function liveAssignees(roleId: number): Promise<number> {
  const [row] = await t.deps.db<{ n: number }[]>`
    select count(*)::int as n from admin.platform_user_roles
    where role_id = ${roleId} and is_active and (expires_at is null or expires_at > now())`;
  return row?.n ?? 0;
}

describe("assigning and unassigning", () => {
  it("POST /roles/{id}/assign grants the role (201), recording the caller as granted_by", async () => {
    const caller = await clientFor(t, await t.createUser({ roles: ["platform_admin"] }));
    const role = await createRole(caller);
    const user = await t.createUser();
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const reply = await caller.post<AssignmentJson>(`/roles/${role.id}/assign`, {
      user_id: user.id,
      reason: "on call this week",
      expires_at: expires,
    });
    expect(reply.status).toBe(201);
    expect(reply.body.data).toMatchObject({
      user_id: user.id,
      role: { id: role.id, code: role.code, role_level: "platform" },
      granted_by: caller.user.id,
      reason: "on call this week",
      expires_at: expires,
      is_active: true,
      expired: false,
    });
    const [row] = await t.deps.db<{ granted_by: string }[]>`
      select granted_by from admin.platform_user_roles
      where user_id = ${user.id} and role_id = ${role.id}`;
    expect(row?.granted_by).toBe(caller.user.id);
    expect((await admin.get<RoleJson>(`/roles/${role.id}`)).body.data.assignee_count).toBe(1);
  });

  it("refuses a second assignment of the same role with 409; re-grants after unassign", async () => {
    const role = await createRole(admin);
    const user = await t.createUser();
    expect((await admin.post(`/roles/${role.id}/assign`, { user_id: user.id })).status).toBe(201);
    const again = await admin.post(`/roles/${role.id}/assign`, { user_id: user.id });
    expect(again.status).toBe(409);
    expect(firstField(again)).toBe("user_id");

    const removed = await admin.delete<AssignmentJson>(`/roles/${role.id}/users/${user.id}`);
    expect(removed.status).toBe(200);
    expect(removed.body.data).toMatchObject({ user_id: user.id, is_active: false });
    const missing = await admin.delete(`/roles/${role.id}/users/${user.id}`);
    expect(missing.status).toBe(404);
    expect(firstField(missing)).toBe("user_id");

    const regrant = await admin.post<AssignmentJson>(`/roles/${role.id}/assign`, {
      user_id: user.id,
      reason: "back",
    });
    expect(regrant.status).toBe(201);
    expect(regrant.body.data).toMatchObject({ is_active: true, reason: "back" });
  });

  it("grants an expired assignment again, and shows expired ones with their flag", async () => {
    const role = await createRole(admin);
    const user = await t.createUser();
    await t.deps.db`
      insert into admin.platform_user_roles (user_id, role_id, expires_at, granted_reason)
      values (${user.id}, ${role.id}, now() - interval '1 hour', 'temporary')`;
    const listed = await admin.get<UserRoles>(`/roles/users/${user.id}/roles`);
    expect(listed.body.data.roles).toEqual([
      expect.objectContaining({ is_active: true, expired: true, reason: "temporary" }),
    ]);
    expect((await admin.get<RoleJson>(`/roles/${role.id}`)).body.data.assignee_count).toBe(0);

    const regrant = await admin.post<AssignmentJson>(`/roles/${role.id}/assign`, {
      user_id: user.id,
    });
    expect(regrant.status).toBe(201);
    expect(regrant.body.data).toMatchObject({ expired: false, expires_at: null, reason: null });
  });

  it("GET /roles/users/{user_id}/roles lists every grant with its details", async () => {
    const user = await t.createUser({ roles: ["platform_viewer"] });
    const role = await createRole(admin, { priority: 999 });
    await admin.post(`/roles/${role.id}/assign`, { user_id: user.id, reason: "audit" });
    const reply = await admin.get<UserRoles>(`/roles/users/${user.id}/roles`);
    expect(reply.status).toBe(200);
    expect(reply.body.data.user_id).toBe(user.id);
    expect(reply.body.data.roles.map((r) => r.role.code)).toEqual([role.code, "platform_viewer"]);
    expect(reply.body.data.roles[0]).toMatchObject({
      reason: "audit",
      is_active: true,
      expired: false,
      expires_at: null,
    });
    expect(reply.body.data.roles[1]).toMatchObject({ granted_by: null, is_active: true });
    expect(Date.parse(reply.body.data.roles[0]?.granted_at ?? "")).not.toBeNaN();

    const nobody = await t.createUser();
    const empty = await admin.get<UserRoles>(`/roles/users/${nobody.id}/roles`);
    expect(empty.body.data.roles).toEqual([]);
  });

  it("assigns system roles of platform level", async () => {
    const user = await t.createUser();
    const id = await roleIdOf(t, "platform_auditor");
    const reply = await admin.post(`/roles/${id}/assign`, { user_id: user.id });
    expect(reply.status).toBe(201);
  });
});

describe("bulk assignment", () => {
  it("grants every pair, reports those already present, and changes nothing for them", async () => {
    const [r1, r2] = [await createRole(admin), await createRole(admin)];
    const [u1, u2] = [await t.createUser(), await t.createUser()];
    await admin.post(`/roles/${r1.id}/assign`, { user_id: u1.id, reason: "first" });

    const reply = await admin.post<BulkReport>("/roles/bulk-assign", {
      user_ids: [u1.id, u2.id, u2.id],
      role_ids: [r2.id, r1.id],
      reason: "team",
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data.already_assigned).toEqual([{ user_id: u1.id, role_id: r1.id }]);
    expect(reply.body.data.assigned).toHaveLength(3);
    expect(reply.body.data.assigned).toEqual(
      expect.arrayContaining([
        { user_id: u2.id, role_id: r1.id },
        { user_id: u1.id, role_id: r2.id },
        { user_id: u2.id, role_id: r2.id },
      ]),
    );
    const [kept] = await t.deps.db<{ granted_reason: string }[]>`
      select granted_reason from admin.platform_user_roles
      where user_id = ${u1.id} and role_id = ${r1.id}`;
    expect(kept?.granted_reason).toBe("first");
  });

  it("is all or nothing: one refused role writes no grant at all", async () => {
    const open = await createRole(admin);
    const capped = await createRole(admin, { max_assignees: 1 });
    const tenantRole = await createRole(admin, { role_level: "tenant" });
    const [u1, u2] = [await t.createUser(), await t.createUser()];

    const overCap = await admin.post("/roles/bulk-assign", {
      user_ids: [u1.id, u2.id],
      role_ids: [open.id, capped.id],
    });
    expect(overCap.status).toBe(409);
    expect(firstField(overCap)).toBe("role_ids");
    expect(overCap.body.message).toContain(capped.code);

    const withTenantRole = await admin.post("/roles/bulk-assign", {
      user_ids: [u1.id],
      role_ids: [open.id, tenantRole.id],
    });
    expect(withTenantRole.status).toBe(400);
    expect(firstField(withTenantRole)).toBe("role_ids");

    expect(await liveAssignees(open.id)).toBe(0);
    expect(await liveAssignees(capped.id)).toBe(0);
  });
});

describe("error table", () => {
  let role: RoleJson;
  let tenantRole: RoleJson;
  let userId: string;
  beforeAll(async () => {
    role = await createRole(admin);
    tenantRole = await createRole(admin, { role_level: "tenant" });
    userId = (await t.createUser()).id;
  });

  const past = new Date(Date.now() - 60_000).toISOString();
  const future = new Date(Date.now() + 3_600_000).toISOString();

  const assignCases: [string, () => [number, unknown], number, string][] = [
    ["a malformed user_id", () => [role.id, { user_id: "nope" }], 400, "user_id"],
    ["no user_id", () => [role.id, { reason: "x" }], 400, "user_id"],
    ["an unknown user", () => [role.id, { user_id: randomUUID() }], 404, "user_id"],
    ["an unknown role", () => [2147483000, { user_id: userId }], 404, "role_id"],
    [
      "a past expires_at",
      () => [role.id, { user_id: userId, expires_at: past }],
      400,
      "expires_at",
    ],
    [
      "a date without offset",
      () => [role.id, { user_id: userId, expires_at: "2999-01-01T00:00:00" }],
      400,
      "expires_at",
    ],
    [
      "a tenant_id",
      () => [role.id, { user_id: userId, tenant_id: randomUUID() }],
      400,
      "tenant_id",
    ],
    [
      "a tenant role",
      () => [tenantRole.id, { user_id: userId, expires_at: future }],
      400,
      "role_id",
    ],
    [
      "granted_by (mass assignment)",
      () => [role.id, { user_id: userId, granted_by: userId }],
      400,
      "granted_by",
    ],
    [
      "is_active (mass assignment)",
      () => [role.id, { user_id: userId, is_active: false }],
      400,
      "is_active",
    ],
    [
      "a reason over 1000 characters",
      () => [role.id, { user_id: userId, reason: "x".repeat(1001) }],
      400,
      "reason",
    ],
  ];
  describe.each(assignCases)("POST /roles/{id}/assign with %s", (_name, args, status, field) => {
    it(`answers ${status} naming ${field}`, async () => {
      const [id, body] = args();
      const reply = await admin.post(`/roles/${id}/assign`, body);
      expect(reply.status).toBe(status);
      expect(firstField(reply)).toBe(field);
    });
  });

  const bulkCases: [string, () => unknown, number, string][] = [
    ["no users", () => ({ user_ids: [], role_ids: [role.id] }), 400, "user_ids"],
    [
      "101 users",
      () => ({ user_ids: Array.from({ length: 101 }, () => randomUUID()), role_ids: [role.id] }),
      400,
      "user_ids",
    ],
    ["no roles", () => ({ user_ids: [userId], role_ids: [] }), 400, "role_ids"],
    [
      "21 roles",
      () => ({ user_ids: [userId], role_ids: Array.from({ length: 21 }, (_, i) => i + 1) }),
      400,
      "role_ids",
    ],
    ["a malformed user id", () => ({ user_ids: ["x"], role_ids: [role.id] }), 400, "user_ids.0"],
    [
      "an unknown user",
      () => ({ user_ids: [userId, randomUUID()], role_ids: [role.id] }),
      404,
      "user_ids",
    ],
    [
      "an unknown role",
      () => ({ user_ids: [userId], role_ids: [role.id, 2147483000] }),
      404,
      "role_ids",
    ],
    [
      "a tenant_id",
      () => ({ user_ids: [userId], role_ids: [role.id], tenant_id: randomUUID() }),
      400,
      "tenant_id",
    ],
    [
      "a past expires_at",
      () => ({ user_ids: [userId], role_ids: [role.id], expires_at: past }),
      400,
      "expires_at",
    ],
  ];
  describe.each(bulkCases)("POST /roles/bulk-assign with %s", (_name, body, status, field) => {
    it(`answers ${status} naming ${field}`, async () => {
      const reply = await admin.post("/roles/bulk-assign", body());
      expect(reply.status).toBe(status);
      expect(firstField(reply)).toBe(field);
    });
  });

  const unassignCases: [string, () => string, number, string][] = [
    ["a malformed user id", () => `/roles/${role.id}/users/nope`, 400, "user_id"],
    ["a malformed role id", () => `/roles/x/users/${userId}`, 400, "role_id"],
    ["an unknown role", () => `/roles/2147483000/users/${userId}`, 404, "role_id"],
    ["a role the user lacks", () => `/roles/${role.id}/users/${userId}`, 404, "user_id"],
  ];
  describe.each(unassignCases)(
    "DELETE /roles/{id}/users/{user_id} with %s",
    (_name, path, status, field) => {
      it(`answers ${status} naming ${field}`, async () => {
        const reply = await admin.delete(path());
        expect(reply.status).toBe(status);
        expect(firstField(reply)).toBe(field);
      });
    },
  );

  describe.each([
    ["nope", 400],
    [randomUUID(), 404],
  ])("GET /roles/users/%s/roles", (id, status) => {
    it(`answers ${status} naming user_id`, async () => {
      const reply = await admin.get(`/roles/users/${id}/roles`);
      expect(reply.status).toBe(status);
      expect(firstField(reply)).toBe("user_id");
    });
  });
});

describe("max_assignees under concurrency", () => {
  /**
   * On PostgreSQL the requests run on a pool wide enough for them to overlap for real; the
   * embedded PGlite is one serialised session, where the same test still proves the count.
   */
  it("lets exactly max_assignees of 5 concurrent assignments through", async () => {
    const wide =
      inject("databaseMode") === "postgres" ? createSql(inject("databaseUrl"), { max: 6 }) : null;
    try {
      const app = wide
        ? createApp({
            config: t.deps.config,
            deps: { ...t.deps, db: wide },
            socketAddress: () => "10.250.0.1",
          })
        : t.app;
      const caller = await clientFor(
        t,
        await t.createUser({ superadmin: true }),
        async (path, init) => app.request(path, init),
      );
      const role = await createRole(caller, { max_assignees: 2 });
      const users = await Promise.all(Array.from({ length: 5 }, () => t.createUser()));
      const replies = await Promise.all(
        users.map((u) => caller.post(`/roles/${role.id}/assign`, { user_id: u.id })),
      );
      const statuses = replies.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 201, 409, 409, 409]);
      for (const refused of replies.filter((r) => r.status === 409)) {
        expect(refused.body.message).toMatch(/maximum of 2/);
      }
      expect(await liveAssignees(role.id)).toBe(2);

      // Concurrent bulk assignments over the same capped role: never more than the cap.
      const capped = await createRole(caller, { max_assignees: 3 });
      const more = await Promise.all(Array.from({ length: 6 }, () => t.createUser()));
      const bulk = await Promise.all(
        [more.slice(0, 2), more.slice(2, 4), more.slice(4, 6)].map((group) =>
          caller.post("/roles/bulk-assign", {
            user_ids: group.map((u) => u.id),
            role_ids: [capped.id],
          }),
        ),
      );
      expect(bulk.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      expect(await liveAssignees(capped.id)).toBe(2);
    } finally {
      await wide?.end({ timeout: 1 });
    }
  });
});

describe("changes apply on the very next request", () => {
  it("unassigning platform_operator revokes roles:read for the same token at once", async () => {
    const operator = await clientFor(t, await t.createUser({ roles: ["platform_operator"] }));
    expect((await operator.get("/permissions")).status).toBe(200);
    const roleId = await roleIdOf(t, "platform_operator");
    const removed = await admin.delete(`/roles/${roleId}/users/${operator.user.id}`);
    expect(removed.status).toBe(200);
    const after = await operator.get("/permissions");
    expect(after.status).toBe(403);
    expect(after.body.errors?.[0]?.code).toBe("FORBIDDEN");

    expect(
      (await admin.post(`/roles/${roleId}/assign`, { user_id: operator.user.id })).status,
    ).toBe(201);
    expect((await operator.get("/permissions")).status).toBe(200);
  });

  it("changing a role's permissions applies to its assignees at once", async () => {
    const role = await createRole(admin);
    const member = await clientFor(t, await t.createUser());
    await admin.post(`/roles/${role.id}/assign`, { user_id: member.user.id });
    expect((await member.get("/permissions")).status).toBe(403);

    const granted = await admin.put(`/roles/${role.id}/permissions`, {
      permission_codes: ["roles:read"],
      replace: false,
    });
    expect(granted.status).toBe(200);
    expect((await member.get("/permissions")).status).toBe(200);

    await admin.put(`/roles/${role.id}/permissions`, { permission_ids: [], replace: true });
    expect((await member.get("/permissions")).status).toBe(403);
  });

  it("force-deleting a role takes its permissions from its assignees at once", async () => {
    const role = await createRole(admin);
    await admin.put(`/roles/${role.id}/permissions`, {
      permission_codes: ["roles:read"],
      replace: true,
    });
    const member = await clientFor(t, await t.createUser());
    await admin.post(`/roles/${role.id}/assign`, { user_id: member.user.id });
    expect((await member.get("/permissions")).status).toBe(200);
    expect((await admin.delete(`/roles/${role.id}?force=true`)).status).toBe(200);
    expect((await member.get("/permissions")).status).toBe(403);
  });

  it("bulk assignment grants at once", async () => {
    const role = await createRole(admin);
    await admin.put(`/roles/${role.id}/permissions`, {
      permission_codes: ["roles:read"],
      replace: true,
    });
    const member = await clientFor(t, await t.createUser());
    expect((await member.get("/permissions")).status).toBe(403);
    await admin.post("/roles/bulk-assign", { user_ids: [member.user.id], role_ids: [role.id] });
    expect((await member.get("/permissions")).status).toBe(200);
  });
});

describe("a cache outage during invalidation", () => {
  it("does not fail the committed change, and logs which entries may be stale", async () => {
    const checker = t.deps.identity?.permissions;
    if (!checker) throw new Error("the test app has no permission checker");
    const role = await createRole(admin);
    const user = await t.createUser();
    const spy = vi
      .spyOn(checker, "invalidateUser")
      .mockRejectedValueOnce(new CacheUnavailableError("deleteByPrefix", "timeout"));
    try {
      const reply = await admin.post(`/roles/${role.id}/assign`, { user_id: user.id });
      expect(reply.status).toBe(201);
    } finally {
      spy.mockRestore();
    }
    expect(await liveAssignees(role.id)).toBe(1);
    expect(t.logs).toContainEqual(
      expect.objectContaining({
        level: "error",
        msg: "permission cache not invalidated after a role change",
        scope: [user.id],
      }),
    );
  });
});

describe("privilege escalation", () => {
  it("lets only a superadmin assign a system role", async () => {
    const t = await createTestApp();
    try {
      const admin = await t.createUser({ roles: ["platform_admin"] });
      const target = await t.createUser();
      const [role] = await t.deps.db<
        { id: number }[]
      >`select id from admin.platform_roles where code = 'super_admin'`;
      if (!role) throw new Error("super_admin is seeded");
      const roleId = role.id;
      const assign = async (token: string) =>
        t.request(`/api/v1/roles/${roleId}/assign`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ user_id: admin.id }),
        });
      const self = await assign(await admin.token());
      expect(self.status).toBe(403);
      expect((await self.json()).message).toContain("Only a superadmin");
      const held = await t.deps
        .db`select 1 from admin.platform_user_roles where user_id = ${admin.id} and role_id = ${roleId}`;
      expect(held).toHaveLength(0);

      const bulk = await t.request("/api/v1/roles/bulk-assign", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${await admin.token()}`,
        },
        body: JSON.stringify({ user_ids: [target.id], role_ids: [roleId] }),
      });
      expect(bulk.status).toBe(403);

      const superadmin = await t.createUser({ superadmin: true });
      expect((await assign(await superadmin.token())).status).toBe(201);
    } finally {
      await t.close();
    }
  });
});
