import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AppEnv } from "../../deps";
import { ApiError } from "../errors";

/** API responses are data, never documents: nothing may load, frame or sniff them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/** The headers every response carries (and `Content-Security-Policy`, see below). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-site",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
});

export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    for (const name in SECURITY_HEADERS) h.set(name, SECURITY_HEADERS[name] as string);
    // Docs pages set their own, narrower-than-default-but-script-allowing policy.
    if (!h.has("Content-Security-Policy")) h.set("Content-Security-Policy", API_CSP);
  };
}

export function corsFor(origins: string[]): MiddlewareHandler<AppEnv> {
  return cors({
    origin: origins.includes("*") ? "*" : origins,
    allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: [
      "Authorization",
      "Content-Type",
      "X-Request-ID",
      "X-Guest-Session",
      "If-None-Match",
      "If-Match",
      "Idempotency-Key",
      "X-Audit-Reason",
    ],
    exposeHeaders: [
      "X-Request-ID",
      "X-Process-Time",
      "X-Guest-Session",
      "ETag",
      "Retry-After",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "RateLimit-Policy",
    ],
    maxAge: 600,
  });
}

/** Rejects bodies over the limit with 413, counting bytes as they stream (chunked bodies too). */
export function bodyLimitOf(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", `Request body exceeds ${maxBytes} bytes`);
    },
  });
}
