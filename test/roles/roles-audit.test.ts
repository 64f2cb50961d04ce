import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiClient, apiClient } from "../support/api-client";
import { createTestApp, type TestApp } from "../support/harness";
import { uniqueCode } from "./support";

/** Every change to roles and grants leaves an audit entry, written in its own transaction. */
let t: TestApp;
let admin: ApiClient;

beforeAll(async () => {
  t = await createTestApp();
  admin = await apiClient(t, await t.createUser({ roles: ["platform_admin"] }));
});
afterAll(() => t.close());

async function entries(roleId: number) {
  return t.deps.db<
    { action: string; actor_id: string; reason: string | null; before: unknown; after: unknown }[]
  >`
    select action, actor_id, reason, before, after from admin.audit_log
    where resource_type = 'role' and resource_id = ${String(roleId)}
    order by occurred_at, id`;
}

describe("roles audit", () => {
  it("records create, update, permission changes, assign, unassign, bulk assign and delete", async () => {
    const code = uniqueCode();
    const created = await admin.post<{ id: number }>(
      "/roles",
      { code, name: `Role ${code}`, role_level: "platform", priority: 100 },
      { "X-Audit-Reason": "new team" },
    );
    expect(created.status).toBe(201);
    const id = created.body.data.id;
    const user = await t.createUser();
    const other = await t.createUser();
    const steps: [string, string, unknown][] = [
      ["PUT", `/roles/${id}`, { priority: 150 }],
      ["PUT", `/roles/${id}/permissions`, { permission_codes: ["audit:read"], replace: true }],
      ["POST", `/roles/${id}/assign`, { user_id: user.id }],
      ["DELETE", `/roles/${id}/users/${user.id}`, undefined],
      ["POST", "/roles/bulk-assign", { user_ids: [other.id], role_ids: [id] }],
      ["DELETE", `/roles/${id}?force=true`, undefined],
    ];
    for (const [method, path, body] of steps) {
      const reply = await admin.call(method, path, body === undefined ? {} : { body });
      expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
    }
    const log = await entries(id);
    expect(log.map((e) => e.action)).toEqual([
      "roles.create",
      "roles.update",
      "roles.set_permissions",
      "roles.assign",
      "roles.unassign",
      "roles.bulk_assign",
      "roles.delete",
    ]);
    expect(log.every((e) => e.actor_id === admin.user.id)).toBe(true);
    expect(log[0]?.reason).toBe("new team");
    expect(log[1]?.before).toMatchObject({ priority: 100 });
    expect(log[1]?.after).toMatchObject({ priority: 150 });
    expect(log[2]?.after).toMatchObject({ added: ["audit:read"], permissions: ["audit:read"] });
  });

  it("writes nothing for a change that was refused", async () => {
    const code = uniqueCode();
    const created = await admin.post<{ id: number }>("/roles", {
      code,
      name: `Role ${code}`,
      role_level: "platform",
      priority: 100,
    });
    const id = created.body.data.id;
    const refused = await admin.put(`/roles/${id}/permissions`, {
      permission_codes: ["nope:never"],
    });
    expect(refused.status).toBe(400);
    expect((await entries(id)).map((e) => e.action)).toEqual(["roles.create"]);
  });
});
