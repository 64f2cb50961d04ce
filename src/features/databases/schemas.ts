import { z } from "@hono/zod-openapi";
import { isHostSyntax } from "../../core/db/host-policy";
import { SSL_MODES } from "../../core/db/regional-router";
import { PaginationQuery, PaginationSchema } from "../../core/http/pagination";
import { queryBoolean, querySearch, querySort } from "../../core/http/query";

export const CONNECTION_TYPES = ["primary", "replica", "analytics", "backup"] as const;
export const HEALTH_STATUSES = ["healthy", "degraded", "unhealthy"] as const;
const MAX_INT4 = 2_147_483_647;

/** Sort fields and their natural direction. */
export const CONNECTION_SORTS = {
  connection_name: "asc",
  created_at: "desc",
  last_health_check: "desc",
  consecutive_failures: "desc",
} as const;
export type ConnectionSort = keyof typeof CONNECTION_SORTS;

/** The server's ceiling for one health probe, whatever a caller asks for. */
export const MAX_CHECK_TIMEOUT_SECONDS = 10;

const connectionName = z
  .string()
  .min(2)
  .max(100)
  .regex(
    /^[a-z0-9][a-z0-9_-]*[a-z0-9]$/,
    "expected lowercase letters, digits, '-' and '_' (e.g. neofast-shared-eu-primary)",
  );
const host = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .refine(isHostSyntax, "expected a host name or an IP address");
const identifier = (what: string) =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[^\s\0]+$/, `expected a ${what} without spaces`);
const password = z.string().min(1).max(1024).openapi({
  format: "password",
  writeOnly: true,
  description: "Sealed (AES-256-GCM) before it is stored; never returned or logged.",
});
const hyperdriveBinding = z
  .string()
  .max(64)
  .regex(/^[A-Z][A-Z0-9_]*$/, "expected a Workers binding name (e.g. HYPERDRIVE_EU_WEST_1)")
  .nullable();
const poolSettings = {
  pool_min_size: z.number().int().min(0).max(1000),
  pool_max_size: z.number().int().min(1).max(1000),
  pool_timeout_seconds: z.number().int().min(1).max(3600),
  pool_recycle_seconds: z.number().int().min(1).max(MAX_INT4),
  pool_pre_ping: z.boolean(),
};
const metadata = z.record(z.string(), z.unknown());
const tags = z.array(z.string().trim().min(1).max(50)).max(50);

export const ConnectionIdParams = z.object({
  connection_id: z.uuid("expected a connection id (UUID)").openapi({
    param: { name: "connection_id", in: "path" },
    format: "uuid",
    description: "The database connection's id.",
  }),
});

export const ConnectionListQuery = PaginationQuery.extend({
  region_id: z
    .uuid("expected a region id (UUID)")
    .optional()
    .openapi({
      param: { name: "region_id", in: "query" },
      description: "Only connections in this region.",
    }),
  connection_type: z
    .enum(CONNECTION_TYPES)
    .optional()
    .openapi({
      param: { name: "connection_type", in: "query" },
      description: "Only connections of this type.",
    }),
  is_active: queryBoolean("is_active", "Only active (or only deactivated) connections."),
  is_healthy: queryBoolean("is_healthy", "Only healthy (or only unhealthy) connections."),
  search: querySearch("Part of the name, host or database name, case-insensitive."),
  ...querySort(CONNECTION_SORTS, "connection_name"),
});
export type ConnectionListInput = z.infer<typeof ConnectionListQuery>;

export const DatabaseConnectionSchema = z
  .object({
    id: z.uuid(),
    region_id: z.uuid(),
    connection_name: z.string().openapi({ example: "neofast-shared-eu-primary" }),
    connection_type: z.enum(CONNECTION_TYPES),
    host: z.string().openapi({ example: "db.eu.example.com" }),
    port: z.number().int(),
    database_name: z.string(),
    ssl_mode: z.enum(SSL_MODES),
    username: z.string(),
    has_password: z.boolean().openapi({
      description: "Whether a password is stored (sealed). The password itself is never returned.",
    }),
    hyperdrive_binding: z.string().nullable(),
    pool_min_size: z.number().int(),
    pool_max_size: z.number().int(),
    pool_timeout_seconds: z.number().int(),
    pool_recycle_seconds: z.number().int(),
    pool_pre_ping: z.boolean(),
    is_active: z.boolean(),
    is_healthy: z.boolean(),
    health_status: z.enum(HEALTH_STATUSES).nullable().openapi({
      description:
        "`healthy`: the last check passed; `degraded`: healthy, but the last checks failed (fewer than `max_consecutive_failures`); `unhealthy`: not healthy. Null: never checked.",
    }),
    last_health_check: z.string().nullable().openapi({ format: "date-time" }),
    consecutive_failures: z.number().int(),
    max_consecutive_failures: z.number().int(),
    metadata,
    tags: z.array(z.string()),
    version: z.number().int().openapi({ description: "Also the `ETag`." }),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("DatabaseConnection");
export type DatabaseConnection = z.infer<typeof DatabaseConnectionSchema>;

export const HealthSummarySchema = z
  .object({
    total: z.number().int(),
    active: z.number().int(),
    inactive: z.number().int(),
    healthy: z.number().int().openapi({ description: "Active, and the last check passed." }),
    degraded: z.number().int(),
    unhealthy: z.number().int().openapi({ description: "Active, checked, and not healthy." }),
    never_checked: z.number().int(),
    last_health_check: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("DatabaseHealthSummary");
export type HealthSummary = z.infer<typeof HealthSummarySchema>;

export const ConnectionPageSchema = z
  .object({
    items: z.array(DatabaseConnectionSchema),
    pagination: PaginationSchema,
    health_summary: HealthSummarySchema.openapi({
      description: "Over every connection the filters match (not only this page).",
    }),
  })
  .openapi("DatabaseConnectionPage");

export const HealthReportSchema = z
  .object({
    summary: HealthSummarySchema,
    by_region: z.array(
      z.object({
        region_id: z.uuid(),
        region_code: z.string(),
        summary: HealthSummarySchema,
      }),
    ),
    by_type: z.array(
      z.object({ connection_type: z.enum(CONNECTION_TYPES), summary: HealthSummarySchema }),
    ),
  })
  .openapi("DatabaseHealthReport");

/** Pool sizes must agree (the table's CHECK says so too). */
function poolConsistent(body: { pool_min_size?: number; pool_max_size?: number }) {
  return (
    body.pool_min_size === undefined ||
    body.pool_max_size === undefined ||
    body.pool_min_size <= body.pool_max_size
  );
}
const poolMessage = {
  message: "pool_min_size must not exceed pool_max_size",
  path: ["pool_min_size"],
};

/** What both create and update may set (all optional here; create requires some). */
const settable = {
  connection_type: z.enum(CONNECTION_TYPES).optional(),
  host: host.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  database_name: identifier("database name").optional(),
  ssl_mode: z.enum(SSL_MODES).optional(),
  username: identifier("user name").optional(),
  hyperdrive_binding: hyperdriveBinding.optional(),
  pool_min_size: poolSettings.pool_min_size.optional(),
  pool_max_size: poolSettings.pool_max_size.optional(),
  pool_timeout_seconds: poolSettings.pool_timeout_seconds.optional(),
  pool_recycle_seconds: poolSettings.pool_recycle_seconds.optional(),
  pool_pre_ping: poolSettings.pool_pre_ping.optional(),
  max_consecutive_failures: z.number().int().min(1).max(1000).optional(),
  metadata: metadata.optional(),
  tags: tags.optional(),
};

export const CreateConnectionSchema = z
  .strictObject({
    ...settable,
    region_id: z.uuid("expected a region id (UUID)"),
    connection_name: connectionName,
    connection_type: z.enum(CONNECTION_TYPES),
    host: host.openapi({ example: "db.eu.example.com" }),
    database_name: identifier("database name").openapi({ example: "neofast_shared_eu" }),
    password: password.optional(),
  })
  .refine(poolConsistent, poolMessage)
  .openapi("CreateDatabaseConnectionRequest");
export type CreateConnectionInput = z.infer<typeof CreateConnectionSchema>;

export const UpdateConnectionSchema = z
  .strictObject({
    ...settable,
    password: password
      .nullable()
      .optional()
      .openapi({ description: "A new password (re-sealed), or null to remove it." }),
    is_active: z.boolean().optional(),
  })
  .refine((body) => Object.values(body).some((v) => v !== undefined), {
    message: "Nothing to update: send at least one field",
  })
  .refine(poolConsistent, poolMessage)
  .openapi("UpdateDatabaseConnectionRequest");
export type UpdateConnectionInput = z.infer<typeof UpdateConnectionSchema>;

export const HealthCheckRequestSchema = z
  .strictObject({
    connection_ids: z
      .array(z.uuid("expected a connection id (UUID)"))
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: "Which connections; all active ones when absent." }),
    force_check: z.boolean().default(false).openapi({
      description:
        "Also probe connections checked in the last 30 seconds (otherwise their recorded state is reported, `checked: false`).",
    }),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(5)
      .openapi({
        description: `Per connection; the server caps it at ${MAX_CHECK_TIMEOUT_SECONDS} s.`,
      }),
  })
  .openapi("DatabaseHealthCheckRequest");
export type HealthCheckInput = z.infer<typeof HealthCheckRequestSchema>;

export const HealthCheckResultSchema = z
  .object({
    connection_id: z.uuid(),
    connection_name: z.string(),
    checked: z.boolean().openapi({ description: "False: checked recently, not probed again." }),
    ok: z
      .boolean()
      .nullable()
      .openapi({ description: "This probe's outcome; null when not probed." }),
    response_time_ms: z.number().nullable(),
    error: z.string().nullable(),
    is_healthy: z.boolean(),
    health_status: z.enum(HEALTH_STATUSES).nullable(),
    consecutive_failures: z.number().int(),
    last_health_check: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("DatabaseHealthCheckResult");
export type HealthCheckResult = z.infer<typeof HealthCheckResultSchema>;

export const HealthCheckResponseSchema = z
  .object({
    timeout_seconds: z.number().int().openapi({ description: "The timeout each probe had." }),
    checked: z.number().int(),
    healthy: z.number().int(),
    unhealthy: z.number().int(),
    results: z.array(HealthCheckResultSchema),
  })
  .openapi("DatabaseHealthCheckResponse");
