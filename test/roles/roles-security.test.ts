import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenApiDocument } from "../../src/features/docs/document";
import { createTestApp, randomIp, type TestApp } from "../support/harness";
import { clientFor, createRole, rotatingAdmin, uniqueCode } from "./support";

let t: TestApp;
let admin: ReturnType<typeof rotatingAdmin>;

beforeAll(async () => {
  t = await createTestApp();
  admin = rotatingAdmin(t);
});
afterAll(() => t.close());

interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
}

interface Case {
  name: string;
  /** The OpenAPI method and path, to find the operation in the document. */
  method: Call["method"];
  template: string;
  code: string;
  dangerous: boolean;
  /** A request that succeeds for a caller holding `code`, built on fresh fixtures. */
  request(): Promise<Call>;
  ok: number;
}

async function freshRole() {
  return createRole(admin);
}

const cases: Case[] = [
  {
    name: "list roles",
    method: "GET",
    template: "/api/v1/roles",
    code: "roles:list",
    dangerous: false,
    request: async () => ({ method: "GET", path: "/roles" }),
    ok: 200,
  },
  {
    name: "get a role",
    method: "GET",
    template: "/api/v1/roles/{role_id}",
    code: "roles:read",
    dangerous: false,
    request: async () => ({ method: "GET", path: `/roles/${(await freshRole()).id}` }),
    ok: 200,
  },
  {
    name: "get a role by code",
    method: "GET",
    template: "/api/v1/roles/code/{code}",
    code: "roles:read",
    dangerous: false,
    request: async () => ({ method: "GET", path: "/roles/code/platform_viewer" }),
    ok: 200,
  },
  {
    name: "create a role",
    method: "POST",
    template: "/api/v1/roles",
    code: "roles:create",
    dangerous: false,
    request: async () => ({
      method: "POST",
      path: "/roles",
      body: { code: uniqueCode("sec"), name: "Sec", role_level: "platform", priority: 1 },
    }),
    ok: 201,
  },
  {
    name: "update a role",
    method: "PUT",
    template: "/api/v1/roles/{role_id}",
    code: "roles:update",
    dangerous: false,
    request: async () => ({
      method: "PUT",
      path: `/roles/${(await freshRole()).id}`,
      body: { name: "Changed" },
    }),
    ok: 200,
  },
  {
    name: "delete a role",
    method: "DELETE",
    template: "/api/v1/roles/{role_id}",
    code: "roles:delete",
    dangerous: true,
    request: async () => ({ method: "DELETE", path: `/roles/${(await freshRole()).id}` }),
    ok: 200,
  },
  {
    name: "set a role's permissions",
    method: "PUT",
    template: "/api/v1/roles/{role_id}/permissions",
    code: "roles:manage_permissions",
    dangerous: true,
    request: async () => ({
      method: "PUT",
      path: `/roles/${(await freshRole()).id}/permissions`,
      body: { permission_codes: ["users:read"], replace: true },
    }),
    ok: 200,
  },
  {
    name: "assign a role",
    method: "POST",
    template: "/api/v1/roles/{role_id}/assign",
    code: "roles:assign",
    dangerous: false,
    request: async () => ({
      method: "POST",
      path: `/roles/${(await freshRole()).id}/assign`,
      body: { user_id: (await t.createUser()).id },
    }),
    ok: 201,
  },
  {
    name: "unassign a role",
    method: "DELETE",
    template: "/api/v1/roles/{role_id}/users/{user_id}",
    code: "roles:unassign",
    dangerous: false,
    request: async () => {
      const role = await freshRole();
      const user = await t.createUser();
      await admin.post(`/roles/${role.id}/assign`, { user_id: user.id });
      return { method: "DELETE", path: `/roles/${role.id}/users/${user.id}` };
    },
    ok: 200,
  },
  {
    name: "bulk-assign roles",
    method: "POST",
    template: "/api/v1/roles/bulk-assign",
    code: "roles:bulk_assign",
    dangerous: false,
    request: async () => ({
      method: "POST",
      path: "/roles/bulk-assign",
      body: { user_ids: [(await t.createUser()).id], role_ids: [(await freshRole()).id] },
    }),
    ok: 200,
  },
  {
    name: "list a user's roles",
    method: "GET",
    template: "/api/v1/roles/users/{user_id}/roles",
    code: "roles:view_assignments",
    dangerous: false,
    request: async () => ({
      method: "GET",
      path: `/roles/users/${(await t.createUser()).id}/roles`,
    }),
    ok: 200,
  },
];

const allCodes = [...new Set(cases.map((c) => c.code))];

async function send(call: Call, authorization?: string) {
  const res = await t.request(`/api/v1${call.path}`, {
    method: call.method,
    ip: randomIp(),
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(call.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
  });
  return { status: res.status, body: (await res.json()) as { errors: { code: string }[] | null } };
}

describe.each(cases)("$name ($code)", (c) => {
  it("answers 401 without a token, or with a malformed one", async () => {
    const call = await c.request();
    const none = await send(call);
    expect(none.status).toBe(401);
    expect(none.body.errors?.[0]?.code).toBe("UNAUTHORIZED");
    expect((await send(call, "Bearer not-a-jwt")).status).toBe(401);
  });

  it("answers 403 to a user without the permission, even one holding every other roles code", async () => {
    const call = await c.request();
    const viewer = await t.createUser({ roles: ["platform_viewer"] });
    const refused = await send(call, `Bearer ${await viewer.token()}`);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]?.code).toBe("FORBIDDEN");

    const neighbour = await t.createUser({ permissions: allCodes.filter((x) => x !== c.code) });
    expect((await send(call, `Bearer ${await neighbour.token()}`)).status).toBe(403);
  });

  it(`answers ${c.ok} to a user holding exactly ${c.code}`, async () => {
    const call = await c.request();
    const holder = await t.createUser({ permissions: [c.code] });
    const reply = await send(call, `Bearer ${await holder.token()}`);
    expect(reply.status).toBe(c.ok);
  });

  it("is refused before validation: a forbidden caller learns nothing from a 400", async () => {
    const call = await c.request();
    const viewer = await t.createUser({ roles: ["platform_viewer"] });
    const garbled = { ...call, path: call.path.replace(/\/\d+(?=\/|$)/, "/not-an-id") };
    const reply = await send(
      { ...garbled, ...(call.body === undefined ? {} : { body: { junk: true } }) },
      `Bearer ${await viewer.token()}`,
    );
    expect(reply.status).toBe(403);
  });

  it("declares its permission in the OpenAPI document", () => {
    const document = t.app.openApiDocument() as OpenApiDocument;
    const item = document.paths?.[c.template] as Record<string, Record<string, unknown>>;
    const operation = item?.[c.method.toLowerCase()];
    expect(operation?.tags).toEqual(["Roles"]);
    expect(operation?.["x-permission"]).toMatchObject({ code: c.code, dangerous: c.dangerous });
    expect(Object.keys((operation?.responses as object) ?? {})).toEqual(
      expect.arrayContaining(["401", "403"]),
    );
  });
});

describe("superadmins", () => {
  it("pass every check without holding a role", async () => {
    const root = await clientFor(t, await t.createUser({ superadmin: true }));
    expect((await root.get("/roles")).status).toBe(200);
    const role = await createRole(root);
    expect((await root.delete(`/roles/${role.id}`)).status).toBe(200);
  });
});
