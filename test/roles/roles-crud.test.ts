import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/harness";
import {
  createRole,
  firstField,
  type RoleJson,
  roleIdOf,
  rotatingAdmin,
  uniqueCode,
} from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingAdmin>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingAdmin(t);
});
afterAll(() => t.close());

interface Page<T> {
  items: T[];
  pagination: { page: number; page_size: number; total_items: number; has_next: boolean };
}

describe("reading roles", () => {
  it("GET /roles lists the seeded roles, highest priority first, with permissions and counts", async () => {
    const reply = await admin.get<Page<RoleJson>>("/roles?is_system=true&page_size=100");
    expect(reply.status).toBe(200);
    const { items, pagination } = reply.body.data;
    expect(pagination.total_items).toBeGreaterThanOrEqual(15);
    expect(items[0]?.code).toBe("super_admin");
    const priorities = items.map((r) => r.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
    const operator = items.find((r) => r.code === "platform_operator");
    expect(operator).toMatchObject({ is_system: true, role_level: "platform" });
    expect(operator?.permissions).toEqual(expect.arrayContaining(["roles:read", "users:list"]));
    expect(operator?.assignee_count).toBeGreaterThanOrEqual(0);
  });

  it("filters, searches, sorts and pages", async () => {
    const tag = uniqueCode("f");
    const a = await createRole(admin, { code: `${tag}_a`, name: "Alpha Clerk", priority: 10 });
    const b = await createRole(admin, { code: `${tag}_b`, name: "Beta Clerk", priority: 30 });
    const c = await createRole(admin, {
      code: `${tag}_c`,
      name: "Gamma",
      role_level: "tenant",
      priority: 20,
    });
    const list = (query: string) => admin.get<Page<RoleJson>>(`/roles?search=${tag}&${query}`);
    const codes = async (query: string) => (await list(query)).body.data.items.map((r) => r.code);

    expect(await codes("")).toEqual([b.code, c.code, a.code]);
    expect(await codes("sort=code")).toEqual([a.code, b.code, c.code]);
    expect(await codes("sort=code&order=desc")).toEqual([c.code, b.code, a.code]);
    expect(await codes("sort=priority&order=asc")).toEqual([a.code, c.code, b.code]);
    expect(await codes("sort=name")).toEqual([a.code, b.code, c.code]);
    expect(await codes("sort=created_at&order=asc")).toEqual([a.code, b.code, c.code]);
    expect(await codes("role_level=tenant")).toEqual([c.code]);
    expect(await codes("tenant_scoped=true")).toEqual([c.code]);
    expect(await codes("tenant_scoped=false&sort=code")).toEqual([a.code, b.code]);
    expect(await codes("name=clerk&sort=code")).toEqual([a.code, b.code]);
    expect(await codes(`code=${b.code}`)).toEqual([b.code]);
    expect(await codes("is_system=true")).toEqual([]);
    expect(await codes("is_default=false&sort=code")).toEqual([a.code, b.code, c.code]);

    const page = await list("sort=code&page=2&page_size=2");
    expect(page.body.data.items.map((r) => r.code)).toEqual([c.code]);
    expect(page.body.data.pagination).toMatchObject({
      page: 2,
      page_size: 2,
      total_items: 3,
      has_next: false,
    });
    const beyond = await list("page=9");
    expect(beyond.body.data.items).toEqual([]);
    expect(beyond.body.data.pagination.total_items).toBe(3);
  });

  it("treats % and _ in search as plain characters", async () => {
    const reply = await admin.get<Page<RoleJson>>("/roles?search=%25");
    expect(reply.status).toBe(200);
    expect(reply.body.data.items).toEqual([]);
  });

  it("GET /roles/{id} and /roles/code/{code} return the same role", async () => {
    const id = await roleIdOf(t, "platform_viewer");
    const byId = await admin.get<RoleJson>(`/roles/${id}`);
    const byCode = await admin.get<RoleJson>("/roles/code/platform_viewer");
    expect(byId.status).toBe(200);
    expect(byCode.status).toBe(200);
    expect(byId.body.data).toEqual(byCode.body.data);
    expect(byId.body.data).toMatchObject({
      id,
      code: "platform_viewer",
      is_default: true,
      permissions: ["platform:read"],
    });
    expect(Object.keys(byId.body.data)).not.toContain("deleted_at");
  });
});

describe("writing roles", () => {
  it("POST /roles creates a custom role (201) without permissions", async () => {
    const code = uniqueCode();
    const reply = await admin.post<RoleJson>("/roles", {
      code,
      name: "Billing Clerk",
      display_name: "Billing clerk",
      description: "Reads invoices",
      role_level: "platform",
      priority: 300,
      max_assignees: 5,
      requires_approval: true,
      role_config: { mfa: true },
      metadata: { team: "finance" },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.data).toMatchObject({
      code,
      name: "Billing Clerk",
      role_level: "platform",
      priority: 300,
      is_system: false,
      is_default: false,
      tenant_scoped: false,
      max_assignees: 5,
      requires_approval: true,
      role_config: { mfa: true },
      metadata: { team: "finance" },
      permissions: [],
      assignee_count: 0,
    });
    const tenant = await admin.post<RoleJson>("/roles", {
      code: uniqueCode(),
      name: "Tenant thing",
      role_level: "tenant",
      priority: 0,
    });
    expect(tenant.body.data.tenant_scoped).toBe(true);
  });

  it("refuses a duplicate code with 409 naming code, also for a deleted role's code", async () => {
    const role = await createRole(admin);
    const again = await admin.post("/roles", {
      code: role.code,
      name: "Again",
      role_level: "platform",
      priority: 1,
    });
    expect(again.status).toBe(409);
    expect(again.body.errors?.[0]).toMatchObject({ code: "CONFLICT", field: "code" });

    expect((await admin.delete(`/roles/${role.id}`)).status).toBe(200);
    const reuse = await admin.post("/roles", {
      code: role.code,
      name: "Reuse",
      role_level: "platform",
      priority: 1,
    });
    expect(reuse.status).toBe(409);
    expect(firstField(reuse)).toBe("code");
    expect(reuse.body.message).toMatch(/deleted/);
  });

  it("PUT /roles/{id} changes the fields sent and nothing else", async () => {
    const role = await createRole(admin, { description: "before", metadata: { a: 1 } });
    const reply = await admin.put<RoleJson>(`/roles/${role.id}`, {
      name: "Renamed",
      display_name: null,
      priority: 777,
      max_assignees: 3,
      requires_approval: true,
      metadata: { b: 2 },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      code: role.code,
      name: "Renamed",
      display_name: null,
      description: "before",
      priority: 777,
      max_assignees: 3,
      requires_approval: true,
      metadata: { b: 2 },
    });
    expect(Date.parse(reply.body.data.updated_at)).toBeGreaterThanOrEqual(
      Date.parse(role.updated_at),
    );
  });

  it("refuses to lower max_assignees below the active assignees (409)", async () => {
    const role = await createRole(admin);
    for (let i = 0; i < 2; i++) {
      const user = await t.createUser();
      expect((await admin.post(`/roles/${role.id}/assign`, { user_id: user.id })).status).toBe(201);
    }
    const reply = await admin.put(`/roles/${role.id}`, { max_assignees: 1 });
    expect(reply.status).toBe(409);
    expect(firstField(reply)).toBe("max_assignees");
    expect((await admin.put(`/roles/${role.id}`, { max_assignees: 2 })).status).toBe(200);
  });

  it("DELETE /roles/{id} soft-deletes: 404 afterwards, the row kept", async () => {
    const role = await createRole(admin);
    const reply = await admin.delete<{ id: number; deactivated_assignments: number }>(
      `/roles/${role.id}`,
    );
    expect(reply.status).toBe(200);
    expect(reply.body.data).toMatchObject({
      id: role.id,
      code: role.code,
      deactivated_assignments: 0,
    });
    expect((await admin.get(`/roles/${role.id}`)).status).toBe(404);
    expect((await admin.get(`/roles/code/${role.code}`)).status).toBe(404);
    expect((await admin.delete(`/roles/${role.id}`)).status).toBe(404);
    const [row] = await t.deps.db<{ deleted_at: Date | null }[]>`
      select deleted_at from admin.platform_roles where id = ${role.id}`;
    expect(row?.deleted_at).toBeInstanceOf(Date);
  });

  it("refuses to delete a role with active assignees (409) unless force=true", async () => {
    const role = await createRole(admin);
    const user = await t.createUser();
    await admin.post(`/roles/${role.id}/assign`, { user_id: user.id });

    const refused = await admin.delete(`/roles/${role.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.errors?.[0]).toMatchObject({ field: "force", location: "query" });
    expect((await admin.get(`/roles/${role.id}`)).status).toBe(200);

    const forced = await admin.delete<{ deactivated_assignments: number }>(
      `/roles/${role.id}?force=true`,
    );
    expect(forced.status).toBe(200);
    expect(forced.body.data.deactivated_assignments).toBe(1);
    const rows = await t.deps.db<{ is_active: boolean }[]>`
      select is_active from admin.platform_user_roles where role_id = ${role.id}`;
    expect(rows).toEqual([{ is_active: false }]);
  });
});

describe("PUT /roles/{id}/permissions", () => {
  it("adds by ids and codes, then replaces, reporting what changed", async () => {
    const role = await createRole(admin);
    const [usersRead] = await t.deps.db<{ id: number }[]>`
      select id from admin.platform_permissions where code = 'users:read'`;
    const added = await admin.put<{ role: RoleJson; added: string[]; removed: string[] }>(
      `/roles/${role.id}/permissions`,
      { permission_ids: [usersRead?.id], permission_codes: ["billing:read"], replace: false },
    );
    expect(added.status).toBe(200);
    expect(added.body.data.added).toEqual(["billing:read", "users:read"]);
    expect(added.body.data.role.permissions).toEqual(["billing:read", "users:read"]);

    const again = await admin.put<{ added: string[] }>(`/roles/${role.id}/permissions`, {
      permission_codes: ["users:read", "audit:read"],
      replace: false,
    });
    expect(again.body.data.added).toEqual(["audit:read"]);

    const replaced = await admin.put<{ role: RoleJson; added: string[]; removed: string[] }>(
      `/roles/${role.id}/permissions`,
      { permission_codes: ["users:read", "roles:read"], replace: true },
    );
    expect(replaced.status).toBe(200);
    expect(replaced.body.data).toMatchObject({
      added: ["roles:read"],
      removed: ["audit:read", "billing:read"],
    });
    expect(replaced.body.data.role.permissions).toEqual(["roles:read", "users:read"]);

    const cleared = await admin.put<{ role: RoleJson }>(`/roles/${role.id}/permissions`, {
      permission_ids: [],
      replace: true,
    });
    expect(cleared.body.data.role.permissions).toEqual([]);
  });

  it("gives tenant roles tenant permissions", async () => {
    const role = await createRole(admin, { role_level: "tenant" });
    const reply = await admin.put<{ role: RoleJson }>(`/roles/${role.id}/permissions`, {
      permission_codes: ["tenant:read", "tenant.data:*"],
      replace: true,
    });
    expect(reply.status).toBe(200);
    expect(reply.body.data.role.permissions).toEqual(["tenant.data:*", "tenant:read"]);
  });

  it("writes nothing when one permission is refused", async () => {
    const role = await createRole(admin);
    const reply = await admin.put(`/roles/${role.id}/permissions`, {
      permission_codes: ["users:read", "tenant:read"],
      replace: true,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.message).toContain("tenant:read");
    const rows = await t.deps.db`select 1 from admin.role_permissions where role_id = ${role.id}`;
    expect(rows).toHaveLength(0);
  });
});

describe("error table", () => {
  let custom: RoleJson;
  let tenantRole: RoleJson;
  let tenantPermissionId: number;
  beforeAll(async () => {
    custom = await createRole(admin);
    tenantRole = await createRole(admin, { role_level: "tenant" });
    const [row] = await t.deps.db<{ id: number }[]>`
      select id from admin.platform_permissions where code = 'tenant:read'`;
    tenantPermissionId = row?.id ?? 0;
  });

  const valid = { code: "x_valid", name: "Valid", role_level: "platform", priority: 1 };

  describe.each([
    ["a code with capitals", { ...valid, code: "Bad" }, "code"],
    ["a code with spaces", { ...valid, code: "a b" }, "code"],
    ["a code over 100 characters", { ...valid, code: "a".repeat(101) }, "code"],
    ["an empty code", { ...valid, code: "" }, "code"],
    ["no name", { code: "x_a", role_level: "platform", priority: 1 }, "name"],
    ["a blank name", { ...valid, name: "   " }, "name"],
    ["a system role", { ...valid, role_level: "system" }, "role_level"],
    ["an unknown level", { ...valid, role_level: "galaxy" }, "role_level"],
    ["no priority", { code: "x_b", name: "n", role_level: "platform" }, "priority"],
    ["priority above 1000", { ...valid, priority: 1001 }, "priority"],
    ["negative priority", { ...valid, priority: -1 }, "priority"],
    ["fractional priority", { ...valid, priority: 1.5 }, "priority"],
    ["priority as a string", { ...valid, priority: "5" }, "priority"],
    ["max_assignees 0", { ...valid, max_assignees: 0 }, "max_assignees"],
    ["role_config not an object", { ...valid, role_config: "x" }, "role_config"],
    ["metadata an array", { ...valid, metadata: [1] }, "metadata"],
    ["is_system (mass assignment)", { ...valid, is_system: true }, "is_system"],
    ["is_default (mass assignment)", { ...valid, is_default: true }, "is_default"],
    ["an id", { ...valid, id: 1 }, "id"],
    ["tenant_scoped on a platform role", { ...valid, tenant_scoped: true }, "tenant_scoped"],
  ])("POST /roles with %s", (_name, body, field) => {
    it(`answers 400 naming ${field}`, async () => {
      const reply = await admin.post("/roles", body);
      expect(reply.status).toBe(400);
      expect(reply.body.errors?.map((e) => e.field)).toContain(field);
      expect(reply.body.errors?.[0]?.location).toBe("body");
    });
  });

  describe.each([
    ["nothing to update", {}, "json"],
    ["a code", { code: "new_code" }, "code"],
    ["a level", { role_level: "tenant" }, "role_level"],
    ["is_system", { is_system: true }, "is_system"],
    ["a blank name", { name: "" }, "name"],
    ["priority 5000", { priority: 5000 }, "priority"],
    ["max_assignees -1", { max_assignees: -1 }, "max_assignees"],
  ])("PUT /roles/{id} with %s", (_name, body, field) => {
    it(`answers 400 naming ${field}`, async () => {
      const reply = await admin.put(`/roles/${custom.id}`, body);
      expect(reply.status).toBe(400);
      expect(firstField(reply)).toBe(field);
    });
  });

  describe.each([
    ["/roles/abc", 400, "role_id"],
    ["/roles/0", 400, "role_id"],
    ["/roles/-1", 400, "role_id"],
    ["/roles/1.5", 400, "role_id"],
    ["/roles/007", 400, "role_id"],
    ["/roles/99999999999", 400, "role_id"],
    ["/roles/2147483647", 404, "role_id"],
    ["/roles/code/Not_Valid", 400, "code"],
    ["/roles/code/no-such-role-here", 404, "code"],
    ["/roles?page_size=101", 400, "page_size"],
    ["/roles?sort=deleted_at", 400, "sort"],
    ["/roles?order=up", 400, "order"],
    ["/roles?role_level=galaxy", 400, "role_level"],
    ["/roles?is_system=yes", 400, "is_system"],
    ["/roles?page=0", 400, "page"],
  ])("GET %s", (path, status, field) => {
    it(`answers ${status} naming ${field}`, async () => {
      const reply = await admin.get(path);
      expect(reply.status).toBe(status);
      expect(firstField(reply)).toBe(field);
    });
  });

  const permissionCases: [string, () => [number, unknown], number, string][] = [
    ["no replace", () => [custom.id, { permission_codes: [] }], 400, "replace"],
    ["neither ids nor codes", () => [custom.id, { replace: true }], 400, "permission_ids"],
    [
      "an unknown id",
      () => [custom.id, { permission_ids: [987654], replace: true }],
      400,
      "permission_ids",
    ],
    [
      "a non-integer id",
      () => [custom.id, { permission_ids: ["a"], replace: true }],
      400,
      "permission_ids.0",
    ],
    [
      "501 ids",
      () => [
        custom.id,
        { permission_ids: Array.from({ length: 501 }, (_, i) => i + 1), replace: true },
      ],
      400,
      "permission_ids",
    ],
    [
      "a malformed code",
      () => [custom.id, { permission_codes: ["nope"], replace: true }],
      400,
      "permission_codes.0",
    ],
    [
      "an unknown code",
      () => [custom.id, { permission_codes: ["nope:never"], replace: true }],
      400,
      "permission_codes",
    ],
    [
      "a tenant permission on a platform role",
      () => [custom.id, { permission_codes: ["tenant:read"], replace: false }],
      400,
      "permission_codes",
    ],
    [
      "a tenant permission id on a platform role",
      () => [custom.id, { permission_ids: [tenantPermissionId], replace: false }],
      400,
      "permission_ids",
    ],
    [
      "a platform permission on a tenant role",
      () => [tenantRole.id, { permission_codes: ["users:read"], replace: false }],
      400,
      "permission_codes",
    ],
    [
      "an unknown field",
      () => [custom.id, { permission_codes: [], replace: true, role_id: 1 }],
      400,
      "role_id",
    ],
    [
      "an unknown role",
      () => [2147483000, { permission_codes: [], replace: true }],
      404,
      "role_id",
    ],
  ];
  describe.each(permissionCases)(
    "PUT /roles/{id}/permissions with %s",
    (_name, args, status, field) => {
      it(`answers ${status} naming ${field}`, async () => {
        const [id, body] = args();
        const reply = await admin.put(`/roles/${id}/permissions`, body);
        expect(reply.status).toBe(status);
        expect(firstField(reply)).toBe(field);
      });
    },
  );

  it("names the unknown permission ids in the message", async () => {
    const reply = await admin.put(`/roles/${custom.id}/permissions`, {
      permission_ids: [987654, 987655],
      replace: false,
    });
    expect(reply.body.message).toContain("987654, 987655");
  });

  describe.each([
    ["force=maybe", 400, "force"],
    ["", 404, "role_id"],
  ])("DELETE an unknown role with %s", (query, status, field) => {
    it(`answers ${status} naming ${field}`, async () => {
      const reply = await admin.delete(`/roles/2147483001?${query}`);
      expect(reply.status).toBe(status);
      expect(firstField(reply)).toBe(field);
    });
  });
});

describe("system roles are immutable", () => {
  it("refuses update, delete and permission changes with 403, changing nothing", async () => {
    const id = await roleIdOf(t, "platform_operator");
    const before = (await admin.get<RoleJson>(`/roles/${id}`)).body.data;

    const update = await admin.put(`/roles/${id}`, { name: "Hijacked" });
    const remove = await admin.delete(`/roles/${id}?force=true`);
    const permissions = await admin.put(`/roles/${id}/permissions`, {
      permission_codes: ["platform:admin"],
      replace: false,
    });
    for (const reply of [update, remove, permissions]) {
      expect(reply.status).toBe(403);
      expect(reply.body.errors?.[0]?.code).toBe("FORBIDDEN");
      expect(reply.body.message).toMatch(/system role/);
    }
    const after = (await admin.get<RoleJson>(`/roles/${id}`)).body.data;
    expect(after).toEqual(before);
  });

  it("refuses is_system in a create body and stores nothing", async () => {
    const code = uniqueCode("mass");
    const reply = await admin.post("/roles", {
      code,
      name: "Sneaky",
      role_level: "platform",
      priority: 1,
      is_system: true,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.errors).toEqual([
      expect.objectContaining({ code: "VALIDATION_ERROR", field: "is_system", location: "body" }),
    ]);
    const rows = await t.deps.db`select 1 from admin.platform_roles where code = ${code}`;
    expect(rows).toHaveLength(0);
  });
});
