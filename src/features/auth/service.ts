import type { Sql } from "postgres";
import { rateLimitHeaders } from "../../core/auth/guest-sessions";
import type { Identity } from "../../core/auth/identity";
import type { PlatformPrincipal } from "../../core/auth/principal";
import { forgetPrincipal } from "../../core/auth/principal";
import {
  type RateLimiter,
  RateLimiterUnavailableError,
  type RateLimitRule,
} from "../../core/auth/rate-limiter";
import { sha256HexSync } from "../../core/auth/token-hash";
import { TokenVerificationError, type VerifiedToken } from "../../core/auth/token-verifier";
import { keys } from "../../core/cache/keys";
import type { Cache } from "../../core/cache/port";
import { ApiError } from "../../core/http/errors";
import type { Logger } from "../../core/log/logger";
import {
  KeycloakError,
  KeycloakUnavailableError,
  type TokenSet,
} from "../../integrations/keycloak/client";
import { authRepository, IDENTITY_CONFLICT_MESSAGE, type PlatformUserRow } from "./repository";

export interface AuthContext {
  db: Sql;
  cache: Cache;
  identity: Identity;
  rateLimiter: RateLimiter;
  log: Logger;
  clientIp: string;
}

/** Sign-in attempts: per account and per address, so neither guessing strategy scales. */
const LOGIN_PER_USER: RateLimitRule = { name: "login-user", limit: 10, windowSeconds: 300 };
const LOGIN_PER_IP: RateLimitRule = { name: "login-ip", limit: 30, windowSeconds: 300 };
const FORGOT_PER_LOGIN: RateLimitRule = { name: "forgot-login", limit: 3, windowSeconds: 3600 };
const FORGOT_PER_IP: RateLimitRule = { name: "forgot-ip", limit: 10, windowSeconds: 3600 };

const INVALID_CREDENTIALS = "Invalid username or password";
const FORGOT_MESSAGE =
  "If an account matches, an email with a link to set a new password is on its way.";

/**
 * Counts one attempt against each rule. Fails closed: without a working limiter, password
 * guessing would be unlimited, so sign-in is refused (503) until Redis answers again.
 */
async function limit(ctx: AuthContext, rules: [RateLimitRule, string][]): Promise<void> {
  for (const [rule, identifier] of rules) {
    let result: Awaited<ReturnType<RateLimiter["limit"]>>;
    try {
      result = await ctx.rateLimiter.limit(rule, identifier);
    } catch (error) {
      if (error instanceof RateLimiterUnavailableError) {
        throw new ApiError("SERVICE_UNAVAILABLE", "Sign-in is temporarily unavailable", {
          headers: { "Retry-After": "30" },
        });
      }
      throw error;
    }
    if (!result.success) {
      const headers = rateLimitHeaders(rule, result, Date.now());
      throw new ApiError("RATE_LIMITED", "Too many attempts; try again later", {
        headers: {
          ...headers,
          "Retry-After": String(Math.max(1, Number(headers["RateLimit-Reset"]))),
        },
      });
    }
  }
}

function unavailable(error: unknown): never {
  if (error instanceof KeycloakUnavailableError) {
    throw new ApiError("SERVICE_UNAVAILABLE", "The identity provider cannot be reached", {
      headers: { "Retry-After": "30" },
      cause: error,
    });
  }
  throw error;
}

async function adminClient(ctx: AuthContext) {
  const { keycloak, client } = ctx.identity;
  const token = await keycloak.clientCredentials(client).catch(unavailable);
  return keycloak.admin(token.accessToken);
}

function tokensOf(set: TokenSet, claims: VerifiedToken) {
  return {
    access_token: set.accessToken,
    refresh_token: set.refreshToken ?? "",
    token_type: "Bearer" as const,
    expires_in: set.expiresIn,
    refresh_expires_in: set.refreshExpiresIn,
    session_id: claims.sid ?? set.sessionState ?? null,
  };
}

async function verified(ctx: AuthContext, accessToken: string): Promise<VerifiedToken> {
  try {
    return await ctx.identity.verifier.verify(accessToken, {
      realm: ctx.identity.adminRealm,
      audience: ctx.identity.audience,
    });
  } catch (error) {
    if (error instanceof TokenVerificationError) {
      // Keycloak just issued it: a refusal means the realm or client is misconfigured.
      ctx.log.error("identity provider issued a token we cannot verify", { reason: error.reason });
      throw new ApiError(
        "SERVICE_UNAVAILABLE",
        "The identity provider's tokens cannot be verified",
      );
    }
    throw error;
  }
}

export async function profileOf(ctx: Pick<AuthContext, "db" | "identity">, user: PlatformUserRow) {
  const repo = authRepository(ctx.db);
  const [roles, permissions] = await Promise.all([
    repo.roleCodes(user.id),
    ctx.identity.permissions.effective(ctx.db, user.id),
  ]);
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    first_name: user.first_name,
    last_name: user.last_name,
    display_name: user.display_name,
    timezone: user.timezone,
    locale: user.locale,
    is_active: user.is_active,
    is_superadmin: user.is_superadmin,
    last_login_at: user.last_login_at?.toISOString() ?? null,
    roles,
    permissions,
    tenants: [],
    external: {
      provider: "keycloak" as const,
      realm: ctx.identity.adminRealm,
      user_id: user.external_user_id,
    },
  };
}

export const auth = {
  async login(ctx: AuthContext, input: { username: string; password: string }) {
    await limit(ctx, [
      [LOGIN_PER_IP, ctx.clientIp],
      [LOGIN_PER_USER, input.username.toLowerCase()],
    ]);
    let set: TokenSet;
    try {
      set = await ctx.identity.keycloak.passwordGrant({ ...ctx.identity.client, ...input });
    } catch (error) {
      // Wrong password, unknown or disabled account: one answer, so accounts cannot be probed.
      if (
        error instanceof KeycloakError &&
        !(error instanceof KeycloakUnavailableError) &&
        error.status < 500
      ) {
        throw new ApiError("UNAUTHORIZED", INVALID_CREDENTIALS);
      }
      return unavailable(error);
    }
    const claims = await verified(ctx, set.accessToken);
    const user = await authRepository(ctx.db).upsertFromToken(
      {
        sub: claims.sub,
        username: claims.preferred_username ?? input.username,
        email: claims.email ?? `${claims.sub}@users.invalid`,
        ...(claims.given_name ? { firstName: claims.given_name } : {}),
        ...(claims.family_name ? { lastName: claims.family_name } : {}),
      },
      { login: true },
    );
    if (!user) {
      ctx.log.warn("sign-in refused: identity conflict", { sub: claims.sub });
      throw new ApiError("CONFLICT", IDENTITY_CONFLICT_MESSAGE);
    }
    await forgetPrincipal(ctx.cache, claims.sub);
    if (!user.is_active) {
      if (set.refreshToken) {
        await ctx.identity.keycloak
          .logout({ ...ctx.identity.client, refreshToken: set.refreshToken })
          .catch(() => {});
      }
      throw new ApiError("FORBIDDEN", "This account is deactivated");
    }
    ctx.log.info("signed in", { user_id: user.id });
    return { ...tokensOf(set, claims), user: await profileOf(ctx, user) };
  },

  async refresh(ctx: AuthContext, refreshToken: string) {
    let set: TokenSet;
    try {
      set = await ctx.identity.keycloak.refresh({ ...ctx.identity.client, refreshToken });
    } catch (error) {
      if (
        error instanceof KeycloakError &&
        !(error instanceof KeycloakUnavailableError) &&
        error.status < 500
      ) {
        throw new ApiError("UNAUTHORIZED", "The refresh token is invalid or expired");
      }
      return unavailable(error);
    }
    return tokensOf(set, await verified(ctx, set.accessToken));
  },

  /**
   * Ends this session (its refresh tokens stop working and introspection of its access tokens
   * says inactive) or, with `everywhere`, every session of the user.
   */
  async logout(
    ctx: AuthContext,
    input: {
      accessToken: string;
      claims: VerifiedToken;
      refreshToken?: string;
      everywhere: boolean;
    },
  ) {
    const { keycloak, client } = ctx.identity;
    if (input.everywhere) {
      await (await adminClient(ctx)).logoutUser(client.realm, input.claims.sub).catch(unavailable);
    } else if (input.refreshToken) {
      try {
        await keycloak.logout({ ...client, refreshToken: input.refreshToken });
      } catch (error) {
        if (
          error instanceof KeycloakError &&
          !(error instanceof KeycloakUnavailableError) &&
          error.status < 500
        ) {
          throw ApiError.badRequest(
            "The refresh token is invalid for this session",
            "refresh_token",
            "body",
          );
        }
        unavailable(error);
      }
    } else {
      // Without the refresh token the session can only be ended through the admin API.
      await (await adminClient(ctx)).logoutUser(client.realm, input.claims.sub).catch(unavailable);
    }
    // The introspection cache would otherwise call this token active for up to a minute.
    await ctx.cache
      .delete(keys.platform("introspection", client.realm, sha256HexSync(input.accessToken)))
      .catch(() => {});
    return { message: input.everywhere ? "Signed out everywhere" : "Signed out" };
  },

  /** The caller's profile; also `GET /users/me`. */
  async me(ctx: Pick<AuthContext, "db" | "identity">, principal: PlatformPrincipal) {
    const user = await authRepository(ctx.db).byId(principal.id);
    if (!user) throw ApiError.notFound("User not found");
    return profileOf(ctx, user);
  },

  async changePassword(
    ctx: AuthContext,
    input: { claims: VerifiedToken; username: string; current: string; next: string },
  ) {
    await limit(ctx, [[LOGIN_PER_USER, input.username.toLowerCase()]]);
    const { keycloak, client } = ctx.identity;
    try {
      await keycloak.passwordGrant({
        ...client,
        username: input.username,
        password: input.current,
      });
    } catch (error) {
      if (
        error instanceof KeycloakError &&
        !(error instanceof KeycloakUnavailableError) &&
        error.status < 500
      ) {
        throw new ApiError("BAD_REQUEST", "The current password is wrong", {
          details: [
            {
              code: "BAD_REQUEST",
              field: "current_password",
              location: "body",
              message: "The current password is wrong",
            },
          ],
        });
      }
      unavailable(error);
    }
    await (await adminClient(ctx))
      .resetPassword(client.realm, input.claims.sub, { value: input.next, temporary: false })
      .catch(unavailable);
    return { message: "Password changed" };
  },

  /** Same answer whether or not the account exists, and in the same time budget either way. */
  async forgotPassword(ctx: AuthContext, login: string) {
    await limit(ctx, [
      [FORGOT_PER_IP, ctx.clientIp],
      [FORGOT_PER_LOGIN, login.toLowerCase()],
    ]);
    const user = await authRepository(ctx.db).byEmailOrUsername(login);
    if (user?.is_active) {
      try {
        await (await adminClient(ctx)).executeActionsEmail(
          ctx.identity.client.realm,
          user.external_user_id,
          {
            actions: ["UPDATE_PASSWORD"],
          },
        );
      } catch (error) {
        ctx.log.warn("password reset email could not be requested", { user_id: user.id, error });
      }
    }
    return { message: FORGOT_MESSAGE };
  },

  /** An administrator sends a user the identity provider's "set a new password" email. */
  async resetPassword(ctx: AuthContext, userId: string) {
    const user = await authRepository(ctx.db).byId(userId);
    if (!user) throw ApiError.notFound("User not found");
    await (await adminClient(ctx))
      .executeActionsEmail(ctx.identity.client.realm, user.external_user_id, {
        actions: ["UPDATE_PASSWORD"],
      })
      .catch(unavailable);
    return { message: `A password reset email was sent to ${user.email}` };
  },
};
