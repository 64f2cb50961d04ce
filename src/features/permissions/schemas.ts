import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../core/http/pagination";

export const PermissionSchema = z
  .object({
    id: z.number().int(),
    code: z.string().openapi({ example: "users:read" }),
    description: z.string().nullable(),
    resource: z.string().openapi({ example: "users" }),
    action: z.string().openapi({ example: "read" }),
    scope_level: z.enum(["platform", "tenant", "user"]),
    is_dangerous: z.boolean(),
    requires_mfa: z.boolean(),
    requires_approval: z.boolean(),
    source: z.string().openapi({ description: "`seed`, `route` (declared by a route) or `api`." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Permission");

export const PermissionListQuery = PaginationQuery.extend({
  scope: z
    .enum(["platform", "tenant", "user"])
    .optional()
    .openapi({ param: { name: "scope", in: "query" }, description: "Only codes of this scope." }),
  resource: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/, "expected a resource name such as users or tenant.users")
    .optional()
    .openapi({
      param: { name: "resource", in: "query" },
      description: "Only codes of this resource (the part before `:`).",
    }),
  search: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({
      param: { name: "search", in: "query" },
      description: "Case-insensitive substring of the code or description.",
    }),
});

export const PermissionCheckQuery = z.object({
  permissions: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^[a-z][a-z0-9_.]*:([a-z][a-z0-9_]*|\*)$/, "expected resource:action codes"),
        )
        .min(1)
        .max(50),
    )
    .openapi({
      param: { name: "permissions", in: "query" },
      example: "users:read,roles:assign",
      type: "string",
      description: "Comma-separated permission codes (at most 50).",
    }),
  tenant_id: z
    .uuid()
    .optional()
    .openapi({
      param: { name: "tenant_id", in: "query" },
      description: "Check with this tenant's grants too.",
    }),
});

export const PermissionCheckSchema = z
  .object({
    user_id: z.string(),
    tenant_id: z.string().nullable(),
    is_superadmin: z.boolean(),
    permissions: z.record(z.string(), z.boolean()),
  })
  .openapi("PermissionCheck");

export const SyncStatusSchema = z
  .object({
    total: z.number().int(),
    platform: z.number().int(),
    tenant: z.number().int(),
    dangerous: z.number().int(),
    mfa: z.number().int(),
    from_routes: z.number().int(),
    declared_by_routes: z.number().int(),
    missing: z
      .array(z.string())
      .openapi({ description: "Declared by a route but not in the database." }),
  })
  .openapi("PermissionSyncStatus");

export const SyncRequestSchema = z
  .object({
    dry_run: z.boolean().default(false),
    force_update: z.boolean().default(false),
  })
  .strict()
  .openapi("PermissionSyncRequest");

export const SyncReportSchema = z
  .object({
    declared: z.number().int(),
    created: z.array(z.string()),
    updated: z.array(z.string()),
    unchanged: z.number().int(),
    dry_run: z.boolean(),
  })
  .openapi("PermissionSyncReport");
