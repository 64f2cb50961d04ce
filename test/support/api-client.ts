import type { ErrorDetail } from "../../src/core/http/errors";
import { randomIp, type TestApp, type TestUser } from "./harness";

export interface Envelope<T> {
  success: boolean;
  data: T;
  message: string | null;
  errors: ErrorDetail[] | null;
  metadata: { request_id: string; timestamp: string };
}

export interface ApiReply<T> {
  status: number;
  headers: Headers;
  body: Envelope<T>;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A caller of the API with one user's token (fetched once), from an address of its own so
 * callers never share the per-address API rate limit. Answers carry status, headers and body.
 */
export async function apiClient(t: TestApp, user: TestUser) {
  const token = await user.token();
  const ip = randomIp();
  async function call<T = unknown>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<ApiReply<T>> {
    const res = await t.request(`/api/v1${path}`, {
      method,
      ip,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  }
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
