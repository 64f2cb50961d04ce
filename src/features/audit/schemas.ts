import { z } from "@hono/zod-openapi";
import { CursorQuery } from "../../core/http/cursor";

const jsonValue = z.unknown().openapi({ description: "A row image (secrets redacted)." });

export const AuditEntrySchema = z
  .object({
    id: z.uuid(),
    occurred_at: z.string().openapi({ format: "date-time" }),
    actor: z.object({
      type: z.enum(["user", "system", "api", "service"]),
      id: z.uuid().nullable(),
      username: z.string().nullable(),
    }),
    tenant_id: z.uuid().nullable(),
    organization_id: z.uuid().nullable(),
    action: z.string().openapi({ example: "regions.update" }),
    resource_type: z.string().openapi({ example: "region" }),
    resource_id: z.string().nullable(),
    before: jsonValue.nullable(),
    after: jsonValue.nullable(),
    reason: z.string().nullable(),
    request_id: z.string().nullable(),
    ip: z.string().nullable(),
  })
  .openapi("AuditEntry");
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

const uuidFilter = (name: string, description: string) =>
  z
    .uuid(`expected a UUID`)
    .optional()
    .openapi({ param: { name, in: "query" }, description });

const instant = (name: string, description: string) =>
  z.iso
    .datetime({ offset: true, error: "expected an ISO 8601 date-time, e.g. 2026-11-26T12:00:00Z" })
    .optional()
    .openapi({ param: { name, in: "query" }, description });

export const AuditFilterQuery = z.object({
  actor_id: uuidFilter("actor_id", "Entries written by this platform user."),
  tenant_id: uuidFilter("tenant_id", "Entries about this tenant."),
  organization_id: uuidFilter("organization_id", "Entries about this organization."),
  resource_type: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, "expected a resource type such as region")
    .max(50)
    .optional()
    .openapi({
      param: { name: "resource_type", in: "query" },
      example: "region",
      description: "Only entries about this kind of resource.",
    }),
  resource_id: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({
      param: { name: "resource_id", in: "query" },
      description:
        "Only entries about this resource (with `resource_type`, one resource's history).",
    }),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, "expected an action such as regions.update")
    .max(100)
    .optional()
    .openapi({
      param: { name: "action", in: "query" },
      example: "regions.update",
      description: "Only entries of this action (`<resource>.<verb>`).",
    }),
  from: instant("from", "Entries at or after this instant."),
  to: instant("to", "Entries before this instant."),
});
export type AuditFilter = z.infer<typeof AuditFilterQuery>;

export const AuditListQuery = AuditFilterQuery.extend(CursorQuery.shape);
export type AuditListInput = z.infer<typeof AuditListQuery>;
