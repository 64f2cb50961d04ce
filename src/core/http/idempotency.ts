import { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { JSONValue } from "postgres";
import { sha256HexSync } from "../auth/token-hash";
import type { AppEnv } from "../deps";
import { ApiError } from "./errors";

/**
 * `Idempotency-Key` on POST (the IETF httpapi draft's semantics, as Stripe popularised them):
 *
 * - the first request with a key runs and its answer (status, body, a few headers) is kept 24 h;
 * - the same key with the same request replays that answer (`Idempotent-Replayed: true`);
 * - the same key with a different request (method, path or body) is 422;
 * - the same key while its first request still runs is 409 (`Retry-After: 1`).
 *
 * Keys belong to the caller (the platform user), so two users never see each other's answers.
 * Server errors (5xx) are not kept: the key is released and a retry runs again. A key whose first
 * request died mid-way (the process stopped) is taken over after {@link ABANDONED_AFTER_SECONDS}.
 */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const TTL_HOURS = 24;
const ABANDONED_AFTER_SECONDS = 60;
const SWEEP_PROBABILITY = 0.01;
/** Response headers worth replaying; the rest (request id, timing, rate limits) are per request. */
const KEPT_HEADERS = ["content-type", "location", "etag"];

export const IdempotencyKeyHeader = z.object({
  // Keyed as documented; the middleware reads the header itself (validation sees lowercase names).
  "Idempotency-Key": z
    .string()
    .optional()
    .openapi({
      param: { name: IDEMPOTENCY_HEADER, in: "header" },
      description:
        "Makes a retry safe: the same key with the same request replays the first answer (24 h); with a different request it is 422.",
      example: "0193a1f2-7c1e-7b3a-9a5e-2f1c4d5e6f70",
    }),
});

interface StoredRow {
  request_hash: string;
  status: "in_progress" | "completed";
  response_status: number | null;
  response_body: JSONValue | null;
  response_headers: Record<string, string> | null;
}

function replay(row: StoredRow): Response {
  const headers = new Headers(row.response_headers ?? {});
  headers.set("Idempotent-Replayed", "true");
  return new Response(row.response_body === null ? null : JSON.stringify(row.response_body), {
    status: row.response_status ?? 200,
    headers,
  });
}

/** The middleware protected POST routes run after authentication (see protectedRoute). */
export function idempotent(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw ApiError.badRequest(
        "Idempotency-Key must be 1 to 255 visible ASCII characters",
        IDEMPOTENCY_HEADER,
        "header",
      );
    }
    const scope = c.get("principal")?.id;
    if (!scope) return next();
    const { db } = c.get("deps");
    const body = await c.req.text();
    const requestHash = sha256HexSync(`${c.req.method} ${c.req.path}\n${body}`);

    const claimed = await db<{ key: string }[]>`
      insert into admin.idempotency_keys (principal_id, key, method, path, request_hash, expires_at)
      values (${scope}, ${key}, ${c.req.method}, ${c.req.path}, ${requestHash},
              now() + make_interval(hours => ${TTL_HOURS}))
      on conflict (principal_id, key) do update
        set request_hash = excluded.request_hash, status = 'in_progress', created_at = now(),
            expires_at = excluded.expires_at, response_status = null, response_body = null,
            response_headers = null, completed_at = null
        -- Only an expired key, or a first attempt that died with the same request, is taken over.
        where admin.idempotency_keys.expires_at < now()
           or (admin.idempotency_keys.status = 'in_progress'
               and admin.idempotency_keys.request_hash = excluded.request_hash
               and admin.idempotency_keys.created_at
                   < now() - make_interval(secs => ${ABANDONED_AFTER_SECONDS}))
      returning key`;

    // Expired keys are only ever overwritten above; sweep them now and then, off the request.
    if (Math.random() < SWEEP_PROBABILITY) {
      c.get("deps").waitUntil(db`delete from admin.idempotency_keys where expires_at < now()`);
    }

    if (claimed.length === 0) {
      const [row] = await db<StoredRow[]>`
        select request_hash, status, response_status, response_body, response_headers
        from admin.idempotency_keys where principal_id = ${scope} and key = ${key}`;
      if (row && row.request_hash !== requestHash) {
        throw new ApiError(
          "IDEMPOTENCY_KEY_REUSED",
          "This Idempotency-Key was already used with a different request",
        );
      }
      if (!row || row.status === "in_progress") {
        throw new ApiError(
          "IDEMPOTENCY_KEY_IN_USE",
          "A request with this Idempotency-Key is still in progress",
          { headers: { "Retry-After": "1" } },
        );
      }
      return replay(row);
    }

    await next();

    const response = c.res;
    if (response.status >= 500) {
      await db`delete from admin.idempotency_keys where principal_id = ${scope} and key = ${key}`;
      return;
    }
    // Every answer of this API is a JSON envelope (or empty).
    const text = await response.clone().text();
    const stored = text ? (JSON.parse(text) as JSONValue) : null;
    const headers: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    await db`
      update admin.idempotency_keys
      set status = 'completed', response_status = ${response.status},
          response_body = ${stored === null ? null : db.json(stored)},
          response_headers = ${db.json(headers)}, completed_at = now()
      where principal_id = ${scope} and key = ${key}`;
  };
}
