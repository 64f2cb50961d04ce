import type { AuditContext } from "../../core/audit/audit-log";
import { recordAudit } from "../../core/audit/audit-log";
import { forgetPrincipal, type PlatformPrincipal } from "../../core/auth/principal";
import type { VerifiedToken } from "../../core/auth/token-verifier";
import { forgetValue } from "../../core/cache/cached-value";
import { ApiError } from "../../core/http/errors";
import type { ExpectedVersions } from "../../core/http/versioning";
import { IDENTITY_CONFLICT_MESSAGE, upsertPlatformUserFromToken } from "../auth/repository";
import { presentUser, type UserRow, usersRepository } from "./repository";
import { ONBOARDING_STEPS, type OnboardingStatus, type PlatformUser, USERNAME } from "./schemas";
import {
  translateWriteError,
  type UsersContext,
  type UsersWriteContext,
  updateUser,
  userCacheKey,
} from "./service";

/** Profile completion at which the `profile_completed` onboarding step counts as done. */
const PROFILE_COMPLETED_AT = 70;

async function ownRow(ctx: UsersContext, principal: PlatformPrincipal): Promise<UserRow> {
  const row = await usersRepository(ctx.db).byId(principal.id);
  if (!row) throw ApiError.notFound("User not found");
  return row;
}

const nonEmpty = (value: Record<string, unknown>) => Object.keys(value).length > 0;

/** The signed-in user's own account: profile, preferences, onboarding, and sync from a token. */
export const profile = {
  /**
   * The caller's own profile fields or preferences (the routes' schemas say which); If-Match is
   * optional here (a user editing their own account).
   */
  async update(
    ctx: UsersWriteContext,
    patch: Record<string, unknown>,
    expected: ExpectedVersions,
    what: "profile" | "preferences",
  ): Promise<PlatformUser> {
    const action = what === "profile" ? "users.update_self" : "users.update_preferences";
    return updateUser(ctx, ctx.actor.id, patch, expected, action);
  },

  /**
   * The steps of API.md, computed from data where it exists: organizations and tenants the user
   * created (their audit entries: those tables record no creator), tenant access grants, the
   * profile and the preferences. Billing setup, security configuration and teams have no data
   * on the platform yet: those steps are untracked and false.
   */
  async onboardingStatus(
    ctx: UsersContext,
    principal: PlatformPrincipal,
  ): Promise<OnboardingStatus> {
    const row = await ownRow(ctx, principal);
    const repo = usersRepository(ctx.db);
    const [admin, facts] = await Promise.all([
      row.is_superadmin ? Promise.resolve(true) : repo.holdsPlatformRole(row.id),
      repo.onboardingFacts(row.id),
    ]);
    const profileDone = row.profile_completion_percentage >= PROFILE_COMPLETED_AT;
    const tracked: Record<string, boolean | undefined> = admin
      ? {
          profile_completed: profileDone,
          organization_created: facts.organization_created,
          first_tenant_created: facts.tenant_created,
        }
      : {
          profile_completed: profileDone,
          tenant_joined: facts.tenant_joined,
          workspace_accessed: facts.workspace_accessed,
          preferences_configured:
            nonEmpty(row.notification_preferences) || nonEmpty(row.ui_preferences),
        };
    const steps = ONBOARDING_STEPS[admin ? "platform_admin" : "user"].map((step) => ({
      step,
      completed: tracked[step] ?? false,
      tracked: step in tracked,
    }));
    const completed = steps.filter((s) => s.completed).length;
    return {
      user_type: admin ? "platform_admin" : "user",
      is_onboarding_completed: row.is_onboarding_completed,
      steps,
      completed_steps: completed,
      total_steps: steps.length,
      completion_percentage: Math.round((100 * completed) / steps.length),
      profile_completion_percentage: row.profile_completion_percentage,
    };
  },

  async completeOnboarding(ctx: UsersWriteContext): Promise<OnboardingStatus> {
    await updateUser(
      ctx,
      ctx.actor.id,
      { is_onboarding_completed: true },
      "any",
      "users.complete_onboarding",
    );
    return profile.onboardingStatus(ctx, ctx.actor);
  },

  /**
   * Creates or refreshes the caller's own platform user from their verified token, as sign-in
   * does. A deleted account is never brought back; without `create_if_not_exists` a missing one
   * is a 404. The change is audited as the user themself.
   */
  async syncFromToken(
    ctx: UsersContext & { audit: AuditContext },
    claims: VerifiedToken,
    createIfMissing: boolean,
  ): Promise<{ created: boolean; user: PlatformUser }> {
    const username = claims.preferred_username?.toLowerCase();
    if (!username || username.length > 39 || !USERNAME.test(username)) {
      throw ApiError.badRequest(
        "The token's preferred_username cannot be a platform username (3 to 39 letters, digits, '.', '_', '-' or '@')",
      );
    }
    const identity = {
      sub: claims.sub,
      username,
      email: claims.email ?? `${claims.sub}@users.invalid`,
      ...(claims.given_name ? { firstName: claims.given_name } : {}),
      ...(claims.family_name ? { lastName: claims.family_name } : {}),
    };
    let result: { created: boolean; user: PlatformUser };
    try {
      result = await ctx.db.begin(async (tx) => {
        const repo = usersRepository(tx);
        const existing = await repo.byExternalAccount("keycloak", claims.sub, username);
        if (existing?.deleted_at) throw new ApiError("FORBIDDEN", "This account was deleted");
        if (!existing && !createIfMissing) {
          throw ApiError.notFound(
            "This account has no platform user; sync with create_if_not_exists",
          );
        }
        const synced = await upsertPlatformUserFromToken(tx, identity, { login: false });
        if (!synced) throw new ApiError("CONFLICT", IDENTITY_CONFLICT_MESSAGE);
        const { id } = synced;
        const row = await repo.byId(id);
        if (!row) throw new Error("synced user not readable in its transaction");
        const after = presentUser(row);
        const before = existing && presentUser(existing);
        if (!before || before.version !== after.version) {
          await recordAudit(
            tx,
            { ...ctx.audit, actor: { type: "user", id, username: after.username } },
            {
              action: before ? "users.sync_from_token" : "users.create",
              resourceType: "platform_user",
              resourceId: id,
              before: before ?? undefined,
              after,
            },
          );
        }
        return { created: !before, user: after };
      });
    } catch (error) {
      translateWriteError(error);
    }
    await forgetValue(ctx, userCacheKey(result.user.id));
    await forgetPrincipal(ctx.cache, claims.sub).catch(() => {});
    return result;
  },
};
