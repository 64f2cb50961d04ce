import type { PlatformUser } from "../../src/features/users/schemas";
import type { ApiClient } from "../support/api-client";
import type { TestApp } from "../support/harness";

/** A short random tag no other test or earlier run on the database uses. */
export function uniqueTag(prefix = "u"): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}${((random[0] ?? 0) * 2 ** 20 + ((random[1] ?? 0) >>> 12)).toString(36)}`;
}

export function userInput(overrides: Record<string, unknown> = {}) {
  const tag = uniqueTag();
  return {
    email: `${tag}@example.com`,
    username: `ada.${tag}`,
    external_user_id: crypto.randomUUID(),
    first_name: "Ada",
    last_name: "Lovelace",
    timezone: "Europe/Dublin",
    locale: "en-IE",
    ...overrides,
  };
}

export async function createUser(
  client: Pick<ApiClient, "post">,
  overrides: Record<string, unknown> = {},
): Promise<PlatformUser> {
  const reply = await client.post<PlatformUser>("/users", userInput(overrides));
  if (reply.status !== 201) {
    throw new Error(`user not created: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return reply.body.data;
}

export interface AuditRow {
  action: string;
  actor_id: string | null;
  reason: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string;
}

export async function auditEntries(t: TestApp, userId: string): Promise<AuditRow[]> {
  return t.deps.db<AuditRow[]>`
    select action, actor_id, reason, before, after, request_id from admin.audit_log
    where resource_type = 'platform_user' and resource_id = ${userId} order by occurred_at, id`;
}
