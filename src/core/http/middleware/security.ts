import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { AppEnv } from "../../deps";
import { ApiError } from "../errors";

/** API responses are data, never documents: nothing may load, frame or sniff them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Resource-Policy", "same-site");
    h.set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()");
    h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
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
