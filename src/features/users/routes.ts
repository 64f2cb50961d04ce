import { z } from "@hono/zod-openapi";
import { protectedRoute } from "../../core/auth/protected-route";
import { respond } from "../../core/http/envelope";
import { ApiError } from "../../core/http/errors";
import { errorResponses, jsonBody, jsonEnvelope } from "../../core/http/openapi";
import { createRouter } from "../../core/http/router";
import {
  etagResponseHeader,
  expectedVersions,
  IfMatchHeader,
  respondVersioned,
  setEtag,
} from "../../core/http/versioning";
import {
  PREFERENCES_DESCRIPTION,
  registerProfileRoutes,
  respondWithUser,
  usersCtxOf,
  usersWriteCtxOf,
} from "./profile-routes";
import {
  BulkRequestSchema,
  BulkResultSchema,
  CreateUserSchema,
  DeletedUserSchema,
  PlatformUserSchema,
  PreferencesSchema,
  SearchRequestSchema,
  StatusChangeSchema,
  UpdateUserSchema,
  UserCursorPageSchema,
  UserIdParams,
  UserListQuery,
  UserPageSchema,
} from "./schemas";
import { users } from "./service";

const tags = ["Platform Users"];

const versioned = (description: string) => ({
  ...jsonEnvelope(PlatformUserSchema, description),
  headers: etagResponseHeader,
});

/** What each bulk operation needs on top of `users:bulk_operations`. */
const BULK_PERMISSION = {
  activate: "users:update_status",
  deactivate: "users:update_status",
  delete: "users:delete",
} as const;

export function userRoutes() {
  const router = createRouter();

  // Fixed paths first: `/users/me`, `/users/search`, `/users/bulk` and `/users/sync-from-token`
  // must never be read as a `{user_id}`.
  registerProfileRoutes(router);

  router.openapi(
    protectedRoute(
      { code: "users:search" },
      {
        method: "post",
        path: "/users/search",
        operationId: "searchUsers",
        tags,
        summary: "Search platform users",
        description:
          "`query` matches the listed `fields` (default: email, username, names, company, job title), case-insensitive; `filters` are those of `GET /users`, typed; `sort_by` and `sort_order` from the list's allow-list. Page mode. Reads nothing and changes nothing beyond a list.",
        request: { body: jsonBody(SearchRequestSchema) },
        responses: {
          200: jsonEnvelope(UserPageSchema, "A page of users"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await users.search(usersCtxOf(c), c.req.valid("json"))),
  );

  router.openapi(
    protectedRoute(
      { code: "users:bulk_operations", dangerous: true },
      {
        method: "post",
        path: "/users/bulk",
        operationId: "bulkUpdateUsers",
        tags,
        summary: "Activate, deactivate or delete up to 100 users",
        description:
          "Per-item results, in one transaction: each user is `changed`, `unchanged` (already in that state) or `failed` with its reason (not found or already deleted, yourself, a superadmin when you are not one, the last active superadmin); the changes commit together, one audit entry each (`users.bulk_<operation>`, with `reason`). Also needs the single-user permission of the operation: `users:update_status` to activate or deactivate, `users:delete` to delete. Changed users' next requests are decided on their new status.",
        request: { body: jsonBody(BulkRequestSchema) },
        responses: {
          200: jsonEnvelope(BulkResultSchema, "One result per user"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => {
      const input = c.req.valid("json");
      const needed = BULK_PERMISSION[input.operation];
      const { identity, db } = c.get("deps");
      if (!(await identity?.permissions.has(db, c.get("principal"), needed))) {
        throw new ApiError("FORBIDDEN", `Missing permission ${needed}`);
      }
      return respond(c, await users.bulk(usersWriteCtxOf(c), input));
    },
  );

  router.openapi(
    protectedRoute(
      { code: "users:list" },
      {
        method: "get",
        path: "/users",
        operationId: "listUsers",
        tags,
        summary: "List platform users",
        description:
          "Deleted users are never listed. Filters: `search`, `email`, `username`, `external_auth_provider`, `is_active`, `is_superadmin`, `company`, `department`, `job_title`, `has_role`, `has_permission`, `tenant_access`. Page mode by default (`page`, `page_size`, totals); cursor mode with `pagination_mode=cursor` or a `cursor`: keyset pages on the sort key and id, without gaps or repeats while users are added.",
        request: { query: UserListQuery },
        responses: {
          200: jsonEnvelope(
            z.union([UserPageSchema, UserCursorPageSchema]),
            "A page of users (`PlatformUserCursorPage` in cursor mode)",
          ),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await users.list(usersCtxOf(c), c.req.valid("query"))),
  );

  router.openapi(
    protectedRoute(
      { code: "users:create" },
      {
        method: "post",
        path: "/users",
        operationId: "createUser",
        tags,
        summary: "Create a platform user",
        description:
          "The platform record of an identity provider account (the account itself is managed in the identity provider). Email, username and external ids are unique, also against deleted users (409 naming the field). `is_superadmin` cannot be set here: a user starts as a plain user, and only a superadmin can make them one (`PUT /users/{user_id}`).",
        request: { body: jsonBody(CreateUserSchema) },
        responses: { 201: versioned("The new user"), ...errorResponses(400, 409) },
      },
    ),
    async (c) => {
      const user = await users.create(usersWriteCtxOf(c), c.req.valid("json"));
      c.header("Location", `/api/v1/users/${user.id}`);
      setEtag(c, user.version);
      return respond(c, user, { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "users:read" },
      {
        method: "get",
        path: "/users/{user_id}",
        operationId: "getUser",
        tags,
        summary: "Get a platform user",
        description: "`If-None-Match` with the current `ETag` answers 304. Deleted users are 404.",
        request: { params: UserIdParams },
        responses: {
          200: versioned("The user"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => respondVersioned(c, await users.get(usersCtxOf(c), c.req.valid("param").user_id)),
  );

  router.openapi(
    protectedRoute(
      { code: "users:update" },
      {
        method: "put",
        path: "/users/{user_id}",
        operationId: "updateUser",
        tags,
        summary: "Update a platform user",
        description:
          "Changes the listed fields only. Email, username and external ids belong to the identity provider (the next sign-in would overwrite them): 400. `is_superadmin` only from a superadmin (403), never your own nor the last active superadmin's (409); it applies to the user's next request.",
        request: { params: UserIdParams, headers: IfMatchHeader, body: jsonBody(UpdateUserSchema) },
        responses: {
          200: versioned("The updated user"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) =>
      respondWithUser(
        c,
        await users.update(
          usersWriteCtxOf(c),
          c.req.valid("param").user_id,
          c.req.valid("json"),
          expectedVersions(c),
        ),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "users:update_status" },
      {
        method: "post",
        path: "/users/{user_id}/status",
        operationId: "setUserStatus",
        tags,
        summary: "Activate or deactivate a platform user",
        description:
          "A deactivated user's very next request is refused (403), whatever token they hold. You cannot deactivate yourself nor the last active superadmin (409); only a superadmin may change a superadmin's status (403). `reason` goes into the audit entry. Setting the current status changes nothing.",
        request: { params: UserIdParams, body: jsonBody(StatusChangeSchema) },
        responses: { 200: versioned("The user"), ...errorResponses(400, 404, 409) },
      },
    ),
    async (c) =>
      respondWithUser(
        c,
        await users.setStatus(
          usersWriteCtxOf(c),
          c.req.valid("param").user_id,
          c.req.valid("json"),
        ),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "users:update_preferences" },
      {
        method: "put",
        path: "/users/{user_id}/preferences",
        operationId: "updateUserPreferences",
        tags,
        summary: "Update a platform user's preferences",
        description: PREFERENCES_DESCRIPTION,
        request: {
          params: UserIdParams,
          headers: IfMatchHeader,
          body: jsonBody(PreferencesSchema),
        },
        responses: {
          200: versioned("The updated user"),
          ...errorResponses(400, 404, 412, 428),
        },
      },
    ),
    async (c) =>
      respondWithUser(
        c,
        await users.updatePreferences(
          usersWriteCtxOf(c),
          c.req.valid("param").user_id,
          c.req.valid("json"),
          expectedVersions(c),
        ),
      ),
  );

  router.openapi(
    protectedRoute(
      { code: "users:delete", dangerous: true },
      {
        method: "delete",
        path: "/users/{user_id}",
        operationId: "deleteUser",
        tags,
        summary: "Delete a platform user",
        description:
          "Soft delete: `deleted_at` is set and the user deactivated; their next request is refused. Their email, username and external ids stay taken. You cannot delete yourself nor the last active superadmin (409); only a superadmin may delete a superadmin (403).",
        request: { params: UserIdParams, headers: IfMatchHeader },
        responses: {
          200: jsonEnvelope(DeletedUserSchema, "The deleted user"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) =>
      respond(
        c,
        await users.remove(usersWriteCtxOf(c), c.req.valid("param").user_id, expectedVersions(c)),
      ),
  );

  return router;
}
