import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps";
import { rateLimitHeaders } from "./guest-sessions";

/** The token a guest presents: `X-Guest-Session`, else the bearer value. */
function presentedToken(header: (name: string) => string | undefined): string | undefined {
  const explicit = header("x-guest-session")?.trim();
  if (explicit) return explicit;
  const authorization = header("authorization");
  const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
  return match?.[1]?.trim() || undefined;
}

/**
 * Admits anonymous readers of public reference data through guest sessions. A bearer that is not
 * a valid guest token is treated as no token: the caller gets a new session, and the
 * `X-Guest-Session-Rejected` header says why its token was not used. (Platform access tokens are
 * accepted here once the identity layer exists.)
 */
export function guestGate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { guestSessions } = c.var.deps;
    const access = await guestSessions.admit({
      token: presentedToken((name) => c.req.header(name)),
      ip: c.var.clientIp,
      userAgent: c.req.header("user-agent"),
    });
    c.set("guest", access);
    await next();
    for (const [name, value] of Object.entries(
      rateLimitHeaders(access.rule, access.rateLimit, Date.now()),
    )) {
      c.header(name, value);
    }
    c.header("X-Guest-Session-Status", access.status);
    if (access.rejected) c.header("X-Guest-Session-Rejected", access.rejected);
    if (access.newSessionToken) {
      c.header("X-Guest-Session", access.newSessionToken);
      // The body carries a credential: nothing may store this response.
      c.header("Cache-Control", "no-store");
    }
  };
}
