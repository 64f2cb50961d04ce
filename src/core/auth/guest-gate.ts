import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps";
import { type GuestAccess, rateLimitHeaders } from "./guest-sessions";

const BEARER = /^Bearer\s+(.+)$/i;

/** The token a guest presents: `X-Guest-Session`, else the bearer value. */
export function presentedToken(
  guestSession: string | null | undefined,
  authorization: string | null | undefined,
): string | undefined {
  const explicit = guestSession?.trim();
  if (explicit) return explicit;
  const match = authorization ? BEARER.exec(authorization.trim()) : null;
  return match?.[1]?.trim() || undefined;
}

/** Whether an admission is the plain warm answer: a known session, counted, nothing to announce. */
export function isPlainActive(access: GuestAccess): boolean {
  return access.status === "active" && access.rejected === undefined && !access.newSessionToken;
}

/**
 * Admits anonymous readers of public reference data through guest sessions. A bearer that is not
 * a valid guest token is treated as no token: the caller gets a new session, and the
 * `X-Guest-Session-Rejected` header says why its token was not used.
 */
export function guestGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // The fast lane admitted this request already (and handed it over): never count it twice.
    const handed = c.get("laneAdmission");
    let access: GuestAccess;
    if (handed !== undefined) {
      if ("error" in handed) throw handed.error;
      access = handed.access;
    } else {
      // `c.get`, not `c.var`: Hono's `c.var` copies every variable into a new object per access.
      access = await c.get("deps").guestSessions.admit({
        token: presentedToken(c.req.header("x-guest-session"), c.req.header("authorization")),
        // Read only if a session is created or the degraded limiter answers (see requestContext).
        ip: c.get("clientIp"),
        userAgent: c.req.header("user-agent"),
      });
    }
    c.set("guest", access);
    // Set before the handler runs: Hono copies the whole Response for each header set after.
    const limits = rateLimitHeaders(access.rule, access.rateLimit, Date.now());
    for (const name in limits) c.header(name, limits[name]);
    c.header("X-Guest-Session-Status", access.status);
    // The reader gate's reason is the more precise one when it refused a platform access token.
    const rejected = c.get("bearerRefused") ?? access.rejected;
    if (rejected) c.header("X-Guest-Session-Rejected", rejected);
    if (access.newSessionToken) c.header("X-Guest-Session", access.newSessionToken);
    await next();
    if (access.newSessionToken) {
      // The body carries a credential: nothing may store this response, whatever the handler said.
      c.res.headers.set("Cache-Control", "no-store");
    }
  };
}
