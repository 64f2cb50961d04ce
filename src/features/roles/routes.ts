import type { Context } from "hono";
import { auditContextOf } from "../../core/audit/audit-log";
import { protectedRoute } from "../../core/auth/protected-route";
import type { AppEnv } from "../../core/deps";
import { respond } from "../../core/http/envelope";
import { errorResponses, jsonBody, jsonEnvelope } from "../../core/http/openapi";
import { paginated, pagination } from "../../core/http/pagination";
import { createRouter } from "../../core/http/router";
import type { AssignmentRow, RoleDetailRow } from "./repository";
import {
  AssignRoleSchema,
  BulkAssignResultSchema,
  BulkAssignSchema,
  CreateRoleSchema,
  DeleteRoleQuery,
  ROLE_SORTS,
  RoleAssignmentSchema,
  RoleCodeParams,
  RoleDeletedSchema,
  RoleIdParams,
  RoleListQuery,
  RoleSchema,
  RoleUserParams,
  SetRolePermissionsResultSchema,
  SetRolePermissionsSchema,
  UpdateRoleSchema,
  UserIdParams,
  UserRolesSchema,
} from "./schemas";
import { type RolesContext, roles } from "./service";

const tags = ["Roles"];

function ctxOf(c: Context<AppEnv>): RolesContext {
  const { db, identity } = c.get("deps");
  return {
    db,
    actor: c.get("principal"),
    permissions: identity?.permissions,
    log: c.get("log"),
    // Built when a write asks for it: reads never validate X-Audit-Reason.
    get audit() {
      return auditContextOf(c);
    },
  };
}

function roleOf(row: RoleDetailRow) {
  return RoleSchema.parse({
    ...row,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  });
}

function assignmentOf(row: AssignmentRow) {
  return RoleAssignmentSchema.parse({
    user_id: row.user_id,
    role: {
      id: row.role_id,
      code: row.role_code,
      name: row.role_name,
      display_name: row.role_display_name,
      role_level: row.role_level,
      priority: row.role_priority,
    },
    granted_by: row.granted_by,
    reason: row.granted_reason,
    granted_at: row.granted_at.toISOString(),
    expires_at: row.expires_at?.toISOString() ?? null,
    is_active: row.is_active,
    expired: row.expired,
  });
}

export function roleRoutes() {
  const router = createRouter();

  // Fixed paths first: `/roles/code/...`, `/roles/bulk-assign` and `/roles/users/...` must never
  // be read as a `{role_id}`.
  router.openapi(
    protectedRoute(
      { code: "roles:read" },
      {
        method: "get",
        path: "/roles/code/{code}",
        operationId: "getRoleByCode",
        tags,
        summary: "Get a role by code",
        description: "The role with its permission codes and number of active assignees.",
        request: { params: RoleCodeParams },
        responses: {
          200: jsonEnvelope(RoleSchema, "The role"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => {
      const { code } = c.req.valid("param");
      return respond(c, roleOf(await roles.getByCode(ctxOf(c), code)));
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:bulk_assign" },
      {
        method: "post",
        path: "/roles/bulk-assign",
        operationId: "bulkAssignRoles",
        tags,
        summary: "Assign roles to users in bulk",
        description:
          "Grants every listed role to every listed user, all or nothing, in one transaction that enforces `max_assignees`. Pairs already active are reported, not changed; deactivated or expired ones are granted again. Unknown users or roles: 404 naming them.",
        request: { body: jsonBody(BulkAssignSchema) },
        responses: {
          200: jsonEnvelope(BulkAssignResultSchema, "What was assigned and what was already there"),
          ...errorResponses(400, 404, 409),
        },
      },
    ),
    async (c) => {
      const report = await roles.bulkAssign(ctxOf(c), c.req.valid("json"));
      return respond(c, BulkAssignResultSchema.parse(report));
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:view_assignments" },
      {
        method: "get",
        path: "/roles/users/{user_id}/roles",
        operationId: "listUserRoles",
        tags,
        summary: "A user's platform roles",
        description:
          "Every platform role assignment of the user, active or not, with who granted it, why, when, and whether it has expired.",
        request: { params: UserIdParams },
        responses: {
          200: jsonEnvelope(UserRolesSchema, "The user's role assignments"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => {
      const { user_id } = c.req.valid("param");
      const rows = await roles.userRoles(ctxOf(c), user_id);
      return respond(c, UserRolesSchema.parse({ user_id, roles: rows.map(assignmentOf) }));
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:list" },
      {
        method: "get",
        path: "/roles",
        operationId: "listRoles",
        tags,
        summary: "List roles",
        description:
          "Roles with their permission codes and assignee counts. Filter by code, name, level and flags, or search; sorted by priority (highest first) unless `sort` says otherwise.",
        request: { query: RoleListQuery },
        responses: {
          200: jsonEnvelope(paginated(RoleSchema), "A page of roles"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => {
      const q = c.req.valid("query");
      const { rows, total } = await roles.list(ctxOf(c), {
        ...q,
        order: q.order ?? ROLE_SORTS[q.sort],
        limit: q.page_size,
        offset: (q.page - 1) * q.page_size,
      });
      return respond(c, {
        items: rows.map(roleOf),
        pagination: pagination(q.page, q.page_size, total),
      });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:create" },
      {
        method: "post",
        path: "/roles",
        operationId: "createRole",
        tags,
        summary: "Create a role",
        description:
          "A custom platform or tenant role, without permissions (add them with `PUT /roles/{role_id}/permissions`). Unknown fields, including `is_system` and `is_default`, are refused.",
        request: { body: jsonBody(CreateRoleSchema) },
        responses: {
          201: jsonEnvelope(RoleSchema, "The new role"),
          ...errorResponses(400, 409),
        },
      },
    ),
    async (c) => {
      const role = await roles.create(ctxOf(c), c.req.valid("json"));
      return respond(c, roleOf(role), { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:read" },
      {
        method: "get",
        path: "/roles/{role_id}",
        operationId: "getRole",
        tags,
        summary: "Get a role",
        description: "The role with its permission codes and number of active assignees.",
        request: { params: RoleIdParams },
        responses: {
          200: jsonEnvelope(RoleSchema, "The role"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => {
      const { role_id } = c.req.valid("param");
      return respond(c, roleOf(await roles.get(ctxOf(c), role_id)));
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:update" },
      {
        method: "put",
        path: "/roles/{role_id}",
        operationId: "updateRole",
        tags,
        summary: "Update a role",
        description:
          "Changes the fields sent; `code`, `role_level` and the flags are fixed. System roles cannot be changed (403). Lowering `max_assignees` below the active assignees is a 409.",
        request: { params: RoleIdParams, body: jsonBody(UpdateRoleSchema) },
        responses: {
          200: jsonEnvelope(RoleSchema, "The updated role"),
          ...errorResponses(400, 404, 409),
        },
      },
    ),
    async (c) => {
      const { role_id } = c.req.valid("param");
      const role = await roles.update(ctxOf(c), role_id, c.req.valid("json"));
      return respond(c, roleOf(role));
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:delete", dangerous: true },
      {
        method: "delete",
        path: "/roles/{role_id}",
        operationId: "deleteRole",
        tags,
        summary: "Delete a role",
        description:
          "Soft delete; the code is not reused. System roles cannot be deleted (403). A role with active assignees is refused (409) unless `force=true`, which deactivates their assignments in the same transaction.",
        request: { params: RoleIdParams, query: DeleteRoleQuery },
        responses: {
          200: jsonEnvelope(RoleDeletedSchema, "The role is deleted"),
          ...errorResponses(400, 404, 409),
        },
      },
    ),
    async (c) => {
      const { role_id } = c.req.valid("param");
      const { force } = c.req.valid("query");
      const result = await roles.remove(ctxOf(c), role_id, { force });
      return respond(
        c,
        RoleDeletedSchema.parse({ ...result, deleted_at: result.deleted_at.toISOString() }),
      );
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:manage_permissions", dangerous: true },
      {
        method: "put",
        path: "/roles/{role_id}/permissions",
        operationId: "setRolePermissions",
        tags,
        summary: "Set or add a role's permissions",
        description:
          "By ids and/or codes; `replace` makes them the role's whole set, otherwise they are added. Unknown ids or codes are a 400 naming them. Tenant roles take tenant permissions only, platform roles platform ones. System roles cannot be changed (403). Applies to every assignee on their next request.",
        request: { params: RoleIdParams, body: jsonBody(SetRolePermissionsSchema) },
        responses: {
          200: jsonEnvelope(SetRolePermissionsResultSchema, "The role and what changed"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => {
      const { role_id } = c.req.valid("param");
      const result = await roles.setPermissions(ctxOf(c), role_id, c.req.valid("json"));
      return respond(
        c,
        SetRolePermissionsResultSchema.parse({ ...result, role: roleOf(result.role) }),
      );
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:assign" },
      {
        method: "post",
        path: "/roles/{role_id}/assign",
        operationId: "assignRole",
        tags,
        summary: "Assign a role to a user",
        description:
          "Grants a platform or system role, recording the caller as `granted_by`. Enforces `max_assignees` under concurrency. Already held (active, unexpired): 409. Tenant roles and `tenant_id`: 400 until the tenants feature grants them per tenant.",
        request: { params: RoleIdParams, body: jsonBody(AssignRoleSchema) },
        responses: {
          201: jsonEnvelope(RoleAssignmentSchema, "The assignment"),
          ...errorResponses(400, 404, 409),
        },
      },
    ),
    async (c) => {
      const { role_id } = c.req.valid("param");
      const row = await roles.assign(ctxOf(c), role_id, c.req.valid("json"));
      return respond(c, assignmentOf(row), { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "roles:unassign" },
      {
        method: "delete",
        path: "/roles/{role_id}/users/{user_id}",
        operationId: "unassignRole",
        tags,
        summary: "Take a role from a user",
        description:
          "Deactivates the assignment (kept for the record); applies to the user's very next request. 404 when the user does not hold the role.",
        request: { params: RoleUserParams },
        responses: {
          200: jsonEnvelope(RoleAssignmentSchema, "The deactivated assignment"),
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) => {
      const { role_id, user_id } = c.req.valid("param");
      return respond(c, assignmentOf(await roles.unassign(ctxOf(c), role_id, user_id)));
    },
  );

  return router;
}
