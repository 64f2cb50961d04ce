import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../deps";
import { ApiError } from "../http/errors";
import { enforceApiRateLimits } from "./api-rate-limits";
import { IntrospectionUnavailableError } from "./introspection";
import { loadPrincipal, type PlatformPrincipal } from "./principal";
import {
  TokenVerificationError,
  tokenFailureResponse,
  unauthorized,
  type VerifiedToken,
} from "./token-verifier";

/** What a protected route declares: enforced here, documented as `x-permission`. */
export interface PermissionRequirement {
  /** `resource:action`; omitted for routes any signed-in platform user may call. */
  code?: string;
  /** Dangerous operations are checked against Keycloak (introspection) on every call. */
  dangerous?: boolean;
  /** Needs introspection without being dangerous (logout: the session must still be live). */
  introspect?: boolean;
  /**
   * A verified token whose account has no platform user yet is let through, with no principal
   * set (only `POST /users/sync-from-token`, which creates it). A deactivated user is still
   * refused.
   */
  allowUnregistered?: boolean;
}

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** A signed-in platform user, as established by {@link authenticatePlatformUser}. */
export interface PlatformSignIn {
  principal: PlatformPrincipal;
  claims: VerifiedToken;
}

/**
 * Verifies a bearer token of the admin realm (introspecting it when asked) and loads its platform
 * user, if any. Throws the API error to answer: 401 for anything wrong with the token, 403 for a
 * deactivated platform user, 503 when the identity provider cannot be reached.
 */
async function verifySignIn(
  c: Context<AppEnv>,
  token: string,
  options: { introspect: boolean },
): Promise<{ principal: PlatformPrincipal | undefined; claims: VerifiedToken }> {
  const { identity, db, cache } = c.get("deps");
  if (!identity) {
    throw new ApiError("SERVICE_UNAVAILABLE", "No identity provider is configured");
  }
  let claims: VerifiedToken;
  try {
    claims = await identity.verifier.verify(token, {
      realm: identity.adminRealm,
      audience: identity.audience,
    });
  } catch (error) {
    if (error instanceof TokenVerificationError) {
      c.get("log").info("token refused", { reason: error.reason });
      throw tokenFailureResponse(error);
    }
    throw error;
  }

  if (options.introspect) {
    try {
      const result = await identity.introspector.check(token, {
        realm: claims.realm,
        exp: claims.exp,
      });
      if (!result.active) throw unauthorized("expired");
    } catch (error) {
      if (error instanceof IntrospectionUnavailableError) {
        throw new ApiError("SERVICE_UNAVAILABLE", "The identity provider cannot be reached", {
          headers: { "Retry-After": "30" },
        });
      }
      throw error;
    }
  }

  const principal = await loadPrincipal(db, cache, claims.sub);
  if (principal && !principal.is_active) {
    throw new ApiError("FORBIDDEN", "This account is deactivated");
  }
  return { principal, claims };
}

/**
 * Verifies a bearer token of the admin realm (introspecting it when asked) and loads its active
 * platform user. Throws the API error to answer: 401 for anything wrong with the token, 403 for
 * a valid token of no (or a deactivated) platform user, 503 when the identity provider cannot be
 * reached.
 */
export async function authenticatePlatformUser(
  c: Context<AppEnv>,
  token: string,
  options: { introspect: boolean },
): Promise<PlatformSignIn> {
  const { principal, claims } = await verifySignIn(c, token, options);
  if (!principal) {
    throw new ApiError(
      "FORBIDDEN",
      "This account is not a platform user; sign in through /api/v1/auth/login first",
    );
  }
  return { principal, claims };
}

/**
 * Authenticates the bearer token (never falling back to guest access), loads the platform user,
 * applies the API rate limits and checks the declared permission.
 */
export function authorize(requirement: PermissionRequirement): MiddlewareHandler<AppEnv> {
  const introspect = Boolean(requirement.dangerous || requirement.introspect);
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) {
      if (!c.get("deps").identity) {
        throw new ApiError("SERVICE_UNAVAILABLE", "No identity provider is configured");
      }
      throw unauthorized();
    }
    if (requirement.allowUnregistered) {
      const { principal, claims } = await verifySignIn(c, token, { introspect });
      // Not a platform user yet: counted under the account's id at the identity provider.
      await enforceApiRateLimits(c, { userId: principal?.id ?? `sub:${claims.sub}` });
      if (principal) c.set("principal", principal);
      c.set("token", claims);
      return next();
    }
    const { principal, claims } = await authenticatePlatformUser(c, token, { introspect });
    const tenantId = c.req.param("tenant_id");
    await enforceApiRateLimits(c, { userId: principal.id, ...(tenantId ? { tenantId } : {}) });
    const { identity, db } = c.get("deps");
    // On a route about one tenant, that tenant's grants count too.
    if (
      requirement.code &&
      !(await identity?.permissions.has(db, principal, requirement.code, tenantId))
    ) {
      throw new ApiError("FORBIDDEN", `Missing permission ${requirement.code}`);
    }
    c.set("principal", principal);
    c.set("token", claims);
    await next();
  };
}
