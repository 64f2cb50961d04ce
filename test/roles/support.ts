import type { z } from "@hono/zod-openapi";
import type { ErrorDetail } from "../../src/core/http/errors";
import type { RoleAssignmentSchema, RoleSchema } from "../../src/features/roles/schemas";
import { randomIp, type TestApp, type TestUser } from "../support/harness";

export type RoleJson = z.infer<typeof RoleSchema>;
export type AssignmentJson = z.infer<typeof RoleAssignmentSchema>;

export interface Envelope<T> {
  success: boolean;
  data: T;
  message: string | null;
  errors: ErrorDetail[] | null;
}

export interface Reply<T> {
  status: number;
  body: Envelope<T>;
}

type Fetch = (path: string, init: RequestInit) => Promise<Response>;

/**
 * A caller of the API with one user's token (fetched once: tokens outlive a test file), from an
 * address of its own, so that callers never share the per-address API rate limit.
 */
export async function clientFor(t: TestApp, user: TestUser, fetch?: Fetch) {
  const token = await user.token();
  const ip = randomIp();
  const send = fetch ?? ((path: string, init: RequestInit) => t.request(path, { ...init, ip }));
  async function call<T>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    const res = await send(`/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Envelope<T> };
  }
  return {
    user,
    token,
    get: <T = unknown>(path: string) => call<T>("GET", path),
    post: <T = unknown>(path: string, body: unknown) => call<T>("POST", path, body),
    put: <T = unknown>(path: string, body: unknown) => call<T>("PUT", path, body),
    delete: <T = unknown>(path: string) => call<T>("DELETE", path),
  };
}

/** Requests one user makes before the next takes over: below the per-user API rate limit. */
const REQUESTS_PER_USER = 40;

/**
 * An administrator for tests that make many requests: a fresh `platform_admin` user (own token,
 * own address) takes over every few dozen requests, so the API rate limits never answer instead.
 */
export function rotatingAdmin(t: TestApp): Omit<Client, "user" | "token"> {
  let current: Promise<Client> | undefined;
  let used = 0;
  const next = () => {
    if (!current || used >= REQUESTS_PER_USER) {
      used = 0;
      current = t.createUser({ roles: ["platform_admin"] }).then((user) => clientFor(t, user));
    }
    used += 1;
    return current;
  };
  return {
    get: async <T = unknown>(path: string) => (await next()).get<T>(path),
    post: async <T = unknown>(path: string, body: unknown) => (await next()).post<T>(path, body),
    put: async <T = unknown>(path: string, body: unknown) => (await next()).put<T>(path, body),
    delete: async <T = unknown>(path: string) => (await next()).delete<T>(path),
  };
}

export type Client = Awaited<ReturnType<typeof clientFor>>;

/** A role code no other test (or earlier run on the same database) uses. */
export function uniqueCode(prefix = "t"): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

/** A custom platform role, created through the API. */
export async function createRole(
  admin: Pick<Client, "post">,
  fields: Record<string, unknown> = {},
): Promise<RoleJson> {
  const code = uniqueCode();
  const reply = await admin.post<RoleJson>("/roles", {
    code,
    name: `Role ${code}`,
    role_level: "platform",
    priority: 100,
    ...fields,
  });
  if (reply.status !== 201) throw new Error(`role not created: ${JSON.stringify(reply.body)}`);
  return reply.body.data;
}

export async function roleIdOf(t: TestApp, code: string): Promise<number> {
  const [row] = await t.deps.db<
    { id: number }[]
  >`select id from admin.platform_roles where code = ${code}`;
  if (!row) throw new Error(`no role ${code}`);
  return row.id;
}

/** The field of the first error detail, for error tables. */
export function firstField(reply: Reply<unknown>): string | undefined {
  return reply.body.errors?.[0]?.field;
}
