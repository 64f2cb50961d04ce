import type { Context } from "hono";
import { auditContextOf } from "../../core/audit/audit-log";
import { protectedRoute } from "../../core/auth/protected-route";
import type { AppEnv } from "../../core/deps";
import { respond } from "../../core/http/envelope";
import { ApiError } from "../../core/http/errors";
import { errorResponses, jsonBody, jsonEnvelope } from "../../core/http/openapi";
import type { Router } from "../../core/http/router";
import {
  type ExpectedVersions,
  etagResponseHeader,
  expectedVersions,
  IfMatchHeader,
  setEtag,
} from "../../core/http/versioning";
import { UserProfileSchema } from "../auth/schemas";
import { auth } from "../auth/service";
import { profile } from "./profile";
import {
  OnboardingStatusSchema,
  type PlatformUser,
  PlatformUserSchema,
  PreferencesSchema,
  SyncFromTokenSchema,
  SyncResultSchema,
  UpdateProfileSchema,
} from "./schemas";
import type { UsersContext, UsersWriteContext } from "./service";

const tags = ["User Profile"];

export const PREFERENCES_DESCRIPTION =
  "`timezone`, `locale`, `notification_preferences`, `ui_preferences`: each one sent replaces the stored value.";

export function usersCtxOf(c: Context<AppEnv>): UsersContext {
  const { db, cache, identity, waitUntil } = c.get("deps");
  return { db, cache, identity, waitUntil, log: c.get("log") };
}

export function usersWriteCtxOf(c: Context<AppEnv>): UsersWriteContext {
  return { ...usersCtxOf(c), actor: c.get("principal"), audit: auditContextOf(c) };
}

/** Answers a write with the user and their new `ETag`. */
export function respondWithUser(c: Context<AppEnv>, user: PlatformUser) {
  setEtag(c, user.version);
  return respond(c, user);
}

/** Self-service writes take If-Match when the client sends one; without it the write applies. */
function optionalExpectedVersions(c: Context<AppEnv>): ExpectedVersions {
  return c.req.header("if-match") === undefined ? "any" : expectedVersions(c);
}

const OptionalIfMatch = IfMatchHeader.extend({
  "If-Match": IfMatchHeader.shape["If-Match"].openapi({
    param: { name: "If-Match", in: "header", required: false },
    description:
      "Optional here: with the `ETag` of the last answer, a write over a newer version is 412.",
  }),
});

/** A PUT on the caller's own row: `/users/me` and `/users/me/preferences`. */
function ownWrite(
  router: Router,
  spec: {
    path: string;
    what: "profile" | "preferences";
    schema: typeof UpdateProfileSchema | typeof PreferencesSchema;
    operationId: string;
    summary: string;
    description: string;
  },
) {
  router.openapi(
    protectedRoute(
      {},
      {
        method: "put",
        path: spec.path,
        operationId: spec.operationId,
        tags,
        summary: spec.summary,
        description: spec.description,
        request: { headers: OptionalIfMatch, body: jsonBody(spec.schema) },
        responses: {
          200: {
            ...jsonEnvelope(PlatformUserSchema, "The updated user"),
            headers: etagResponseHeader,
          },
          ...errorResponses(400, 412),
        },
      },
    ),
    async (c) =>
      respondWithUser(
        c,
        await profile.update(
          usersWriteCtxOf(c),
          c.req.valid("json"),
          optionalExpectedVersions(c),
          spec.what,
        ),
      ),
  );
}

/** `/users/me/...` and `/users/sync-from-token`: registered before `/users/{user_id}`. */
export function registerProfileRoutes(router: Router) {
  router.openapi(
    protectedRoute(
      {},
      {
        method: "get",
        path: "/users/me",
        operationId: "getMyProfile",
        tags,
        summary: "The signed-in user's profile",
        description:
          "The same answer as `GET /auth/me`: profile, roles, effective permissions and tenants.",
        responses: { 200: jsonEnvelope(UserProfileSchema, "The profile") },
      },
    ),
    async (c) => {
      const { identity, db } = c.get("deps");
      if (!identity)
        throw new ApiError("SERVICE_UNAVAILABLE", "No identity provider is configured");
      c.header("Cache-Control", "no-store");
      return respond(
        c,
        UserProfileSchema.parse(await auth.me({ db, identity }, c.get("principal"))),
      );
    },
  );

  ownWrite(router, {
    path: "/users/me",
    what: "profile",
    schema: UpdateProfileSchema,
    operationId: "updateMyProfile",
    summary: "Update the signed-in user's profile",
    description:
      "Profile fields only (names, avatar, phone, job title, company, departments, time zone, locale). Email and username belong to the identity provider; status, superadmin and metadata to administrators: any of them is a 400 naming the field.",
  });

  ownWrite(router, {
    path: "/users/me/preferences",
    what: "preferences",
    schema: PreferencesSchema,
    operationId: "updateMyPreferences",
    summary: "Update the signed-in user's preferences",
    description: PREFERENCES_DESCRIPTION,
  });

  router.openapi(
    protectedRoute(
      {},
      {
        method: "get",
        path: "/users/me/onboarding/status",
        operationId: "getMyOnboardingStatus",
        tags,
        summary: "The signed-in user's onboarding steps",
        description:
          "Platform admins (superadmins and holders of a system or platform role): profile_completed (profile at least 70 % complete), organization_created and first_tenant_created (from the user's audit entries), billing_setup and security_configured (untracked: always false). Other users: profile_completed, tenant_joined (an active tenant access grant), team_joined (untracked: teams live in the regional databases), workspace_accessed (a tenant grant that was used), preferences_configured (notification or UI preferences set).",
        responses: { 200: jsonEnvelope(OnboardingStatusSchema, "The steps") },
      },
    ),
    async (c) => respond(c, await profile.onboardingStatus(usersCtxOf(c), c.get("principal"))),
  );

  router.openapi(
    protectedRoute(
      {},
      {
        method: "post",
        path: "/users/me/onboarding/complete",
        operationId: "completeMyOnboarding",
        tags,
        summary: "Mark the signed-in user's onboarding complete",
        description: "Sets `is_onboarding_completed` (again: no change) and answers the steps.",
        responses: { 200: jsonEnvelope(OnboardingStatusSchema, "The steps") },
      },
    ),
    async (c) => respond(c, await profile.completeOnboarding(usersWriteCtxOf(c))),
  );

  router.openapi(
    protectedRoute(
      { allowUnregistered: true },
      {
        method: "post",
        path: "/users/sync-from-token",
        operationId: "syncUserFromToken",
        tags: ["Platform Users"],
        summary: "Create or refresh the caller's platform user from their token",
        description:
          "Email, username, names and the identity provider's id come from the verified access token, as at sign-in. A caller without a platform user yet is created (201) unless `create_if_not_exists` is false (404); a deleted account is never brought back (403). The caller's account only: there is no user id to name.",
        request: { body: jsonBody(SyncFromTokenSchema) },
        responses: {
          200: jsonEnvelope(SyncResultSchema, "Refreshed"),
          201: jsonEnvelope(SyncResultSchema, "Created"),
          ...errorResponses(400, 404, 409),
        },
      },
    ),
    async (c) => {
      const result = await profile.syncFromToken(
        { ...usersCtxOf(c), audit: auditContextOf(c) },
        c.get("token"),
        c.req.valid("json").create_if_not_exists,
      );
      setEtag(c, result.user.version);
      return respond(c, result, { status: result.created ? 201 : 200 });
    },
  );
}
