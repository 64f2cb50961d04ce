import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps";
import { ApiError } from "../http/errors";
import { enforceApiRateLimits } from "./api-rate-limits";
import { authenticatePlatformUser, bearerToken } from "./authorize";
import { guestGate } from "./guest-gate";
import { looksLikeGuestToken } from "./guest-sessions";

/** Why a bearer was not accepted as a platform access token (sent as `X-Guest-Session-Rejected`). */
export type BearerRefusal = "invalid-access-token" | "not-a-platform-user" | "identity-unavailable";

function refusalOf(error: ApiError): BearerRefusal {
  if (error.status === 401) return "invalid-access-token";
  if (error.status === 403) return "not-a-platform-user";
  return "identity-unavailable";
}

/** The bearer of `Authorization` when it could be a platform access token (not a guest token). */
export function platformBearer(authorization: string | undefined): string | undefined {
  const token = bearerToken(authorization);
  return token && !looksLikeGuestToken(token) ? token : undefined;
}

/**
 * The gate of public reference data: a signed-in platform user reads as themself (their API rate
 * limits apply, no guest session is spent); everyone else reads through a guest session. A bearer
 * that is neither a valid platform access token nor a guest token never fails the request: it is
 * treated as no token, and `X-Guest-Session-Rejected` says why it was not used.
 */
export function readerGate(): MiddlewareHandler<AppEnv> {
  const guests = guestGate();
  return async (c, next) => {
    // A guest token wins: it is what the caller chose to spend.
    const token = c.req.header("x-guest-session")
      ? undefined
      : platformBearer(c.req.header("authorization"));
    if (!token || !c.get("deps").identity) {
      return guests(c, next);
    }
    let signIn: Awaited<ReturnType<typeof authenticatePlatformUser>>;
    try {
      signIn = await authenticatePlatformUser(c, token, { introspect: false });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      c.set("bearerRefused", refusalOf(error));
      return guests(c, next);
    }
    await enforceApiRateLimits(c, { userId: signIn.principal.id });
    c.set("principal", signIn.principal);
    c.set("token", signIn.claims);
    c.header("X-Reader-Type", "user");
    await next();
  };
}
