import { auditContextOf } from "../../core/audit/audit-log";
import { protectedRoute } from "../../core/auth/protected-route";
import { respond } from "../../core/http/envelope";
import { jsonEnvelope } from "../../core/http/openapi";
import { paginated, pagination } from "../../core/http/pagination";
import { createRouter } from "../../core/http/router";
import { permissionsRepository } from "./repository";
import {
  PermissionCheckQuery,
  PermissionCheckSchema,
  PermissionListQuery,
  PermissionSchema,
  SyncReportSchema,
  SyncRequestSchema,
  SyncStatusSchema,
} from "./schemas";
import { declaredPermissions, syncPermissions } from "./service";

type Document = { paths?: Record<string, unknown> };

const tags = ["Permissions"];

function serialize(row: Record<string, unknown>) {
  return PermissionSchema.parse({
    ...row,
    created_at: (row.created_at as Date).toISOString(),
    updated_at: (row.updated_at as Date).toISOString(),
  });
}

export function permissionRoutes(options: { document: () => Document }) {
  const router = createRouter();

  router.openapi(
    protectedRoute(
      { code: "roles:read" },
      {
        method: "get",
        path: "/permissions",
        operationId: "listPermissions",
        tags,
        summary: "List permissions",
        description:
          "Every permission code, with its scope and risk flags. Filter by scope or resource.",
        request: { query: PermissionListQuery },
        responses: { 200: jsonEnvelope(paginated(PermissionSchema), "A page of permissions") },
      },
    ),
    async (c) => {
      const q = c.req.valid("query");
      const { rows, total } = await permissionsRepository(c.get("deps").db).list({
        ...q,
        limit: q.page_size,
        offset: (q.page - 1) * q.page_size,
      });
      return respond(c, {
        items: rows.map(serialize),
        pagination: pagination(q.page, q.page_size, total),
      });
    },
  );

  router.openapi(
    protectedRoute(
      {},
      {
        method: "get",
        path: "/permissions/check",
        operationId: "checkPermissions",
        tags,
        summary: "Check the caller's permissions",
        description:
          "Answers, for each code, whether the signed-in user holds it (optionally for a tenant).",
        request: { query: PermissionCheckQuery },
        responses: { 200: jsonEnvelope(PermissionCheckSchema, "Code → granted") },
      },
    ),
    async (c) => {
      const { permissions, tenant_id } = c.req.valid("query");
      const principal = c.get("principal");
      const deps = c.get("deps");
      const checker = deps.identity?.permissions;
      const result: Record<string, boolean> = {};
      for (const code of permissions) {
        result[code] = checker ? await checker.has(deps.db, principal, code, tenant_id) : false;
      }
      return respond(c, {
        user_id: principal.id,
        tenant_id: tenant_id ?? null,
        is_superadmin: principal.is_superadmin,
        permissions: result,
      });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "platform:admin" },
      {
        method: "get",
        path: "/permissions/sync-status",
        operationId: "getPermissionSyncStatus",
        tags,
        summary: "Permission registry status",
        description:
          "Counts by scope and risk, and the codes routes declare that the database lacks.",
        responses: { 200: jsonEnvelope(SyncStatusSchema, "Registry status") },
      },
    ),
    async (c) => {
      const repo = permissionsRepository(c.get("deps").db);
      const declared = declaredPermissions(options.document());
      const present = new Set(
        (await repo.existing(declared.map((d) => d.code)))
          .filter((r) => !r.deleted_at)
          .map((r) => r.code),
      );
      return respond(c, {
        ...(await repo.counts()),
        declared_by_routes: declared.length,
        missing: declared.map((d) => d.code).filter((code) => !present.has(code)),
      });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "platform:admin", dangerous: true },
      {
        method: "post",
        path: "/permissions/sync",
        operationId: "syncPermissions",
        tags,
        summary: "Sync declared permissions into the registry",
        description:
          "Adds every permission a route declares and the database lacks. `dry_run` reports without writing; `force_update` also restores deleted codes and raises dangerous flags.",
        request: {
          body: { required: true, content: { "application/json": { schema: SyncRequestSchema } } },
        },
        responses: { 200: jsonEnvelope(SyncReportSchema, "What changed (or would)") },
      },
    ),
    async (c) => {
      const body = c.req.valid("json");
      const report = await syncPermissions(c.get("deps").db, options.document(), {
        dryRun: body.dry_run,
        forceUpdate: body.force_update,
        audit: auditContextOf(c),
      });
      return respond(c, report);
    },
  );

  return router;
}
