import type { ErrorDetail } from "../../src/core/http/errors";

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
 * Calls to `/api/v1` with one bearer token, over `send`: the app in process, or `fetch` to a
 * running server. Answers carry status, headers and the parsed body.
 */
export function bearerCaller(
  send: (
    path: string,
    init: RequestInit & { headers: Record<string, string> },
  ) => Promise<Response>,
  token: string,
) {
  return async function call<T = unknown>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<ApiReply<T>> {
    const res = await send(`/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body === undefined ? {} : { "content-type": "application/json" }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
}
