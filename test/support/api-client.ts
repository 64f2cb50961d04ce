import { type ApiReply, bearerCaller } from "./bearer-client";
import { randomIp, type TestApp, type TestUser } from "./harness";

export type { ApiReply, CallOptions, Envelope } from "./bearer-client";

/**
 * A caller of the API with one user's token (fetched once), from an address of its own so
 * callers never share the per-address API rate limit. Answers carry status, headers and body.
 */
export async function apiClient(t: TestApp, user: TestUser) {
  const token = await user.token();
  const ip = randomIp();
  const call = bearerCaller((path, init) => t.request(path, { ...init, ip }), token);
  return {
    user,
    token,
    call,
    get: <T = unknown>(path: string, headers?: Record<string, string>) =>
      call<T>("GET", path, { ...(headers ? { headers } : {}) }),
    post: <T = unknown>(path: string, body: unknown, headers?: Record<string, string>) =>
      call<T>("POST", path, { body, ...(headers ? { headers } : {}) }),
    put: <T = unknown>(path: string, body: unknown, headers?: Record<string, string>) =>
      call<T>("PUT", path, { body, ...(headers ? { headers } : {}) }),
    delete: <T = unknown>(path: string, headers?: Record<string, string>) =>
      call<T>("DELETE", path, { ...(headers ? { headers } : {}) }),
  };
}

export type ApiClient = Awaited<ReturnType<typeof apiClient>>;

/** Requests one user makes before the next takes over: below the seeded per-user API limit. */
const REQUESTS_PER_USER = 40;

/**
 * A caller for tests that make many requests: a fresh user with these roles (own token, own
 * address) takes over every few dozen requests, so the API rate limits never answer instead.
 */
export function rotatingClient(
  t: TestApp,
  options: Parameters<TestApp["createUser"]>[0] = { roles: ["platform_admin"] },
): Pick<ApiClient, "call" | "get" | "post" | "put" | "delete"> {
  let current: Promise<ApiClient> | undefined;
  let used = 0;
  const next = () => {
    if (!current || used >= REQUESTS_PER_USER) {
      used = 0;
      current = t.createUser(options).then((user) => apiClient(t, user));
    }
    used += 1;
    return current;
  };
  return {
    call: async (...args) => (await next()).call(...args),
    get: async (...args) => (await next()).get(...args),
    post: async (...args) => (await next()).post(...args),
    put: async (...args) => (await next()).put(...args),
    delete: async (...args) => (await next()).delete(...args),
  };
}

/** The field of the first error detail, for "400 names the field" assertions. */
export function firstField(reply: ApiReply<unknown>): string | undefined {
  return reply.body.errors?.[0]?.field;
}
