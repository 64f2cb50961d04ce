import { z } from "@hono/zod-openapi";
import { isPermissionCode } from "../../core/auth/permission-codes";
import { PaginationQuery } from "../../core/http/pagination";
import { queryBoolean } from "../../core/http/query";

export const ROLE_CODE = /^[a-z0-9_-]+$/;
/** Role ids are `integer` columns: anything larger cannot name a row (and would make Postgres fail). */
const MAX_INT4 = 2_147_483_647;

export const ROLE_LEVELS = ["system", "platform", "tenant"] as const;
export type RoleLevel = (typeof ROLE_LEVELS)[number];

/** Sort fields, each with its natural direction when `order` is not given. */
export const ROLE_SORTS = {
  priority: "desc",
  code: "asc",
  name: "asc",
  created_at: "desc",
} as const;
export type RoleSort = keyof typeof ROLE_SORTS;

const roleCode = z
  .string()
  .min(1)
  .max(100)
  .regex(ROLE_CODE, "expected lowercase letters, digits, '_' and '-' only");

/** A positive int4 written in decimal digits only (no sign, exponent, hex or padding). */
const roleId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, "expected a positive integer")
  .transform(Number)
  .pipe(z.number().int().max(MAX_INT4, "expected a positive integer"));

const userId = z.uuid("expected a platform user id (UUID)");

const jsonObject = z
  .record(z.string(), z.unknown())
  .openapi({ type: "object", additionalProperties: true, example: {} });

export const RoleIdParams = z.object({
  role_id: roleId.openapi({
    param: { name: "role_id", in: "path" },
    description: "The role's numeric id.",
    type: "integer",
    minimum: 1,
    example: 42,
  }),
});

export const RoleCodeParams = z.object({
  code: roleCode.openapi({
    param: { name: "code", in: "path" },
    example: "platform_operator",
    description: "The role's code.",
  }),
});

export const UserIdParams = z.object({
  user_id: userId.openapi({
    param: { name: "user_id", in: "path" },
    format: "uuid",
    description: "The platform user's id.",
  }),
});

export const RoleUserParams = RoleIdParams.extend(UserIdParams.shape);

export const RoleListQuery = PaginationQuery.extend({
  code: roleCode.optional().openapi({
    param: { name: "code", in: "query" },
    description: "Exact role code.",
  }),
  name: z
    .string()
    .trim()
    .min(1)
    .max(150)
    .optional()
    .openapi({
      param: { name: "name", in: "query" },
      description: "Part of the name, case-insensitive.",
    }),
  role_level: z
    .enum(ROLE_LEVELS)
    .optional()
    .openapi({
      param: { name: "role_level", in: "query" },
      description: "Only roles of this level.",
    }),
  is_system: queryBoolean("is_system", "Only system (seeded) roles, or only custom ones."),
  is_default: queryBoolean("is_default", "Only default roles, or only non-default ones."),
  tenant_scoped: queryBoolean("tenant_scoped", "Only tenant-scoped roles, or only the others."),
  search: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .openapi({
      param: { name: "search", in: "query" },
      description: "Part of the code, name, display name or description, case-insensitive.",
    }),
  sort: z
    .enum(Object.keys(ROLE_SORTS) as [RoleSort, ...RoleSort[]])
    .default("priority")
    .openapi({
      param: { name: "sort", in: "query" },
      description:
        "Sort field. Ties are broken by code. Default `priority` (highest first).\n\nWithout `order`: `priority` and `created_at` descending, `code` and `name` ascending.",
    }),
  order: z
    .enum(["asc", "desc"])
    .optional()
    .openapi({
      param: { name: "order", in: "query" },
      description: "`asc` or `desc`, overriding the sort field's own direction.",
    }),
});

export const DeleteRoleQuery = z.object({
  force: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .openapi({
      param: { name: "force", in: "query" },
      description:
        "Delete a role that still has active assignees, deactivating their assignments in the same transaction.",
    }),
});

export const RoleSchema = z
  .object({
    id: z.number().int().openapi({ example: 42 }),
    code: z.string().openapi({ example: "billing_clerk" }),
    name: z.string().openapi({ example: "Billing Clerk" }),
    display_name: z.string().nullable(),
    description: z.string().nullable(),
    role_level: z.enum(ROLE_LEVELS),
    priority: z.number().int().openapi({ example: 300 }),
    is_system: z.boolean().openapi({ description: "Seeded role: read-only through the API." }),
    is_default: z.boolean(),
    max_assignees: z.number().int().nullable(),
    tenant_scoped: z.boolean(),
    requires_approval: z.boolean(),
    role_config: jsonObject,
    metadata: jsonObject,
    permissions: z.array(z.string()).openapi({ example: ["billing:read", "invoices:read"] }),
    assignee_count: z
      .number()
      .int()
      .openapi({ description: "Active, unexpired platform assignments." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Role");

export const CreateRoleSchema = z
  .strictObject({
    code: roleCode.openapi({ example: "billing_clerk" }),
    name: z.string().trim().min(1).max(150).openapi({ example: "Billing Clerk" }),
    display_name: z.string().trim().min(1).max(200).nullable().optional(),
    description: z.string().max(2000).nullable().optional(),
    role_level: z
      .enum(["platform", "tenant"], {
        error: "expected platform or tenant: system roles come from the seed only",
      })
      .openapi({ description: "`system` roles cannot be created through the API." }),
    priority: z.number().int().min(0).max(1000).openapi({ example: 300 }),
    max_assignees: z.number().int().min(1).max(MAX_INT4).nullable().optional(),
    tenant_scoped: z.boolean().optional().openapi({
      description: "Defaults to (and must equal) `role_level = tenant`.",
    }),
    requires_approval: z.boolean().optional(),
    role_config: jsonObject.optional(),
    metadata: jsonObject.optional(),
  })
  .openapi("CreateRoleRequest");
export type CreateRoleInput = z.infer<typeof CreateRoleSchema>;

export const UpdateRoleSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(150).optional(),
    display_name: z.string().trim().min(1).max(200).nullable().optional(),
    description: z.string().max(2000).nullable().optional(),
    priority: z.number().int().min(0).max(1000).optional(),
    max_assignees: z.number().int().min(1).max(MAX_INT4).nullable().optional(),
    requires_approval: z.boolean().optional(),
    role_config: jsonObject.optional().openapi({ description: "Replaces the whole object." }),
    metadata: jsonObject.optional().openapi({ description: "Replaces the whole object." }),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), {
    message: "Nothing to update: send at least one field",
  })
  .openapi("UpdateRoleRequest");
export type UpdateRoleInput = z.infer<typeof UpdateRoleSchema>;

export const SetRolePermissionsSchema = z
  .strictObject({
    permission_ids: z
      .array(z.number().int().min(1).max(MAX_INT4))
      .max(500)
      .optional()
      .openapi({ example: [7, 8] }),
    permission_codes: z
      .array(z.string().refine(isPermissionCode, "expected a resource:action code"))
      .max(500)
      .optional()
      .openapi({ example: ["billing:read"] }),
    replace: z.boolean().openapi({
      description:
        "`true`: the role's permissions become exactly these (an empty list clears them). `false`: these are added.",
    }),
  })
  .refine((body) => body.permission_ids !== undefined || body.permission_codes !== undefined, {
    message: "permission_ids or permission_codes is required",
    path: ["permission_ids"],
  })
  .openapi("SetRolePermissionsRequest");
export type SetRolePermissionsInput = z.infer<typeof SetRolePermissionsSchema>;

export const SetRolePermissionsResultSchema = z
  .object({
    role: RoleSchema,
    added: z.array(z.string()),
    removed: z.array(z.string()),
  })
  .openapi("RolePermissionsChange");

const futureDateTime = z.iso
  .datetime({ offset: true })
  .refine((v) => Date.parse(v) > Date.now(), "must be in the future")
  .transform((v) => new Date(v));

const grantFields = {
  reason: z.string().trim().max(1000).nullable().optional(),
  expires_at: futureDateTime
    .nullable()
    .optional()
    .openapi({ type: "string", format: "date-time", description: "Must be in the future." }),
  tenant_id: z.uuid().nullable().optional().openapi({
    description:
      "Reserved for tenant-scoped assignments, which arrive with the tenants feature; refused (400) until then.",
  }),
};

export const AssignRoleSchema = z
  .strictObject({ user_id: userId.openapi({ format: "uuid" }), ...grantFields })
  .openapi("AssignRoleRequest");
export type AssignRoleInput = z.infer<typeof AssignRoleSchema>;

export const BulkAssignSchema = z
  .strictObject({
    user_ids: z.array(userId).min(1).max(100),
    role_ids: z.array(z.number().int().min(1).max(MAX_INT4)).min(1).max(20),
    ...grantFields,
  })
  .openapi("BulkAssignRolesRequest");
export type BulkAssignInput = z.infer<typeof BulkAssignSchema>;

export const RoleSummarySchema = z
  .object({
    id: z.number().int(),
    code: z.string(),
    name: z.string(),
    display_name: z.string().nullable(),
    role_level: z.enum(ROLE_LEVELS),
    priority: z.number().int(),
  })
  .openapi("RoleSummary");

export const RoleAssignmentSchema = z
  .object({
    user_id: z.string().openapi({ format: "uuid" }),
    role: RoleSummarySchema,
    granted_by: z
      .string()
      .nullable()
      .openapi({ format: "uuid", description: "The platform user who granted it." }),
    reason: z.string().nullable(),
    granted_at: z.string().openapi({ format: "date-time" }),
    expires_at: z.string().nullable().openapi({ format: "date-time" }),
    is_active: z.boolean(),
    expired: z.boolean().openapi({ description: "`expires_at` has passed." }),
  })
  .openapi("RoleAssignment");

export const UserRolesSchema = z
  .object({
    user_id: z.string().openapi({ format: "uuid" }),
    roles: z.array(RoleAssignmentSchema),
  })
  .openapi("UserRoles");

const pair = z.object({ user_id: z.string(), role_id: z.number().int() });

export const BulkAssignResultSchema = z
  .object({
    assigned: z.array(pair).openapi({ description: "Granted (or re-activated) by this call." }),
    already_assigned: z
      .array(pair)
      .openapi({ description: "Already active and unexpired: left untouched." }),
  })
  .openapi("BulkAssignRolesResult");

export const RoleDeletedSchema = z
  .object({
    id: z.number().int(),
    code: z.string(),
    deleted_at: z.string().openapi({ format: "date-time" }),
    deactivated_assignments: z.number().int(),
  })
  .openapi("RoleDeleted");
