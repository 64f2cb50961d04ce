import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { protectedRoute } from "../../core/auth/protected-route";
import type { AppEnv } from "../../core/deps";
import { cursorPaginated } from "../../core/http/cursor";
import { respond } from "../../core/http/envelope";
import { errorResponses, jsonEnvelope } from "../../core/http/openapi";
import { createRouter } from "../../core/http/router";
import { AuditEntrySchema, type AuditFilter, AuditFilterQuery, AuditListQuery } from "./schemas";
import { type AuditContext, audit } from "./service";

const tags = ["Audit"];

function ctxOf(c: Context<AppEnv>): AuditContext {
  return { db: c.get("deps").db };
}

export function auditRoutes() {
  const router = createRouter();

  router.openapi(
    protectedRoute(
      { code: "audit:read" },
      {
        method: "get",
        path: "/audit",
        operationId: "listAuditEntries",
        tags,
        summary: "List audit entries",
        description:
          "Every change made through the API, newest first, filtered by actor, tenant, organization, resource, action and time. Paged by cursor: send `pagination.next_cursor` back as `cursor`.",
        request: { query: AuditListQuery },
        responses: {
          200: jsonEnvelope(cursorPaginated(AuditEntrySchema), "A page of entries"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await audit.list(ctxOf(c), c.req.valid("query"))),
  );

  router.openapi(
    protectedRoute(
      { code: "audit:export" },
      {
        method: "get",
        path: "/audit/export",
        operationId: "exportAuditEntries",
        tags,
        summary: "Export audit entries as NDJSON",
        description:
          "All entries matching the filters, newest first, one JSON object per line (`application/x-ndjson`), streamed.",
        request: { query: AuditFilterQuery },
        responses: {
          200: {
            description: "One `AuditEntry` per line",
            content: {
              "application/x-ndjson": {
                schema: z.string().openapi({
                  description: "Lines of JSON, each an `AuditEntry` (see the list operation).",
                }),
              },
            },
          },
          ...errorResponses(400),
        },
      },
    ),
    // zod-openapi types any `application/*json*` media type as a JSON body, and NDJSON is not
    // one: the handler's return type would be `never`. The handler returns a plain Response.
    (async (c: Context<AppEnv>) => {
      const filter = c.req.valid("query" as never) as AuditFilter;
      const stream = audit.export(ctxOf(c), filter);
      return c.body(stream, 200, {
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Disposition": 'attachment; filename="audit.ndjson"',
        "Cache-Control": "no-store",
      });
    }) as never,
  );

  return router;
}
