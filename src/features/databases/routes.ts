import type { Context } from "hono";
import { auditContextOf } from "../../core/audit/audit-log";
import { protectedRoute } from "../../core/auth/protected-route";
import type { AppEnv } from "../../core/deps";
import { respond } from "../../core/http/envelope";
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
  ConnectionIdParams,
  ConnectionListQuery,
  ConnectionPageSchema,
  CreateConnectionSchema,
  DatabaseConnectionSchema,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthReportSchema,
  MAX_CHECK_TIMEOUT_SECONDS,
  UpdateConnectionSchema,
} from "./schemas";
import { type DatabasesContext, type DatabasesWriteContext, databases } from "./service";

const tags = ["Database Connections"];

function ctxOf(c: Context<AppEnv>): DatabasesContext {
  const { db, cache, regional, secretBox, config } = c.get("deps");
  return {
    db,
    cache,
    log: c.get("log"),
    regional,
    ...(secretBox ? { secretBox } : {}),
    allowPrivateHosts: config.allowPrivateDatabaseHosts,
  };
}

function writeCtxOf(c: Context<AppEnv>): DatabasesWriteContext {
  return { ...ctxOf(c), audit: auditContextOf(c) };
}

const versioned = (description: string) => ({
  ...jsonEnvelope(DatabaseConnectionSchema, description),
  headers: etagResponseHeader,
});

const HOST_POLICY =
  "Hosts on loopback, link-local, private or metadata addresses (127/8, ::1, 10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10, 0.0.0.0, `localhost`, `metadata.google.internal`…) are refused with 400 unless the server allows private database hosts; on Bun, what a DNS name resolves to is checked again at every connect.";

export function databaseRoutes() {
  const router = createRouter();

  router.openapi(
    protectedRoute(
      { code: "databases:read" },
      {
        method: "get",
        path: "/databases",
        operationId: "listDatabaseConnections",
        tags,
        summary: "List database connections",
        description:
          "Filter by region, type, activity and health; `search` matches name, host or database name. `health_summary` covers every connection the filters match. Deleted connections are not listed. Passwords are never returned (`has_password`).",
        request: { query: ConnectionListQuery },
        responses: {
          200: jsonEnvelope(ConnectionPageSchema, "A page of connections with a health summary"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await databases.list(ctxOf(c), c.req.valid("query"))),
  );

  // Fixed paths before `{connection_id}`.
  router.openapi(
    protectedRoute(
      { code: "databases:read" },
      {
        method: "get",
        path: "/databases/health/summary",
        operationId: "getDatabaseHealthSummary",
        tags,
        summary: "Health summary of the database connections",
        description: "Counts by health state, overall, per region and per connection type.",
        responses: { 200: jsonEnvelope(HealthReportSchema, "The summary") },
      },
    ),
    async (c) => respond(c, await databases.healthReport(ctxOf(c))),
  );

  router.openapi(
    protectedRoute(
      { code: "databases:health_check" },
      {
        method: "post",
        path: "/databases/health-check",
        operationId: "checkDatabaseHealth",
        tags,
        summary: "Check database connections",
        description: `Connects to each connection (its decrypted password, on Workers its Hyperdrive binding), runs \`select 1\`, concurrently, each within \`timeout_seconds\` (at most ${MAX_CHECK_TIMEOUT_SECONDS} s), and records the outcome (\`is_healthy\`, \`last_health_check\`, \`consecutive_failures\`). Named connections are checked even when deactivated; without \`connection_ids\`, every active one.`,
        request: { body: jsonBody(HealthCheckRequestSchema) },
        responses: {
          200: jsonEnvelope(HealthCheckResponseSchema, "The result per connection"),
          ...errorResponses(400),
        },
      },
    ),
    async (c) => respond(c, await databases.healthCheck(writeCtxOf(c), c.req.valid("json"))),
  );

  router.openapi(
    protectedRoute(
      { code: "databases:read" },
      {
        method: "get",
        path: "/databases/{connection_id}",
        operationId: "getDatabaseConnection",
        tags,
        summary: "Get a database connection",
        description:
          "`If-None-Match` with the current `ETag` answers 304. The password is never returned (`has_password`).",
        request: { params: ConnectionIdParams },
        responses: {
          200: versioned("The connection"),
          304: { description: "Not modified" },
          ...errorResponses(400, 404),
        },
      },
    ),
    async (c) =>
      respondVersioned(c, await databases.get(ctxOf(c), c.req.valid("param").connection_id)),
  );

  router.openapi(
    protectedRoute(
      { code: "databases:create", dangerous: true },
      {
        method: "post",
        path: "/databases",
        operationId: "createDatabaseConnection",
        tags,
        summary: "Register a database connection",
        description: `The password is sealed (AES-256-GCM, bound to the new row) before it is stored, and never returned or logged; 503 when no encryption key is configured. The name is unique and never reused (409); the region must exist (400) and be active (409). ${HOST_POLICY}`,
        request: { body: jsonBody(CreateConnectionSchema) },
        responses: { 201: versioned("The new connection"), ...errorResponses(400, 409) },
      },
    ),
    async (c) => {
      const connection = await databases.create(writeCtxOf(c), c.req.valid("json"));
      c.header("Location", `/api/v1/databases/${connection.id}`);
      setEtag(c, connection.version);
      return respond(c, connection, { status: 201 });
    },
  );

  router.openapi(
    protectedRoute(
      { code: "databases:update", dangerous: true },
      {
        method: "put",
        path: "/databases/{connection_id}",
        operationId: "updateDatabaseConnection",
        tags,
        summary: "Update a database connection",
        description: `Changes the listed fields only; a new \`password\` is sealed again, \`null\` removes it. A change to where or how it connects takes effect on the next use of the connection, without a restart. Refused (409) when it would strand tenants: deactivating a connection tenants are pinned to, or changing which connection a region's unpinned tenants use. ${HOST_POLICY}`,
        request: {
          params: ConnectionIdParams,
          headers: IfMatchHeader,
          body: jsonBody(UpdateConnectionSchema),
        },
        responses: {
          200: versioned("The updated connection"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) => {
      const connection = await databases.update(
        writeCtxOf(c),
        c.req.valid("param").connection_id,
        c.req.valid("json"),
        expectedVersions(c),
      );
      setEtag(c, connection.version);
      return respond(c, connection);
    },
  );

  router.openapi(
    protectedRoute(
      { code: "databases:delete", dangerous: true },
      {
        method: "delete",
        path: "/databases/{connection_id}",
        operationId: "deleteDatabaseConnection",
        tags,
        summary: "Delete a database connection",
        description:
          "Soft delete: the connection is deactivated and marked deleted (its name stays taken, its Hyperdrive binding is released), and its pool is closed. Refused (409) while active tenants use it.",
        request: { params: ConnectionIdParams, headers: IfMatchHeader },
        responses: {
          200: jsonEnvelope(DatabaseConnectionSchema, "The connection as it was deleted"),
          ...errorResponses(400, 404, 409, 412, 428),
        },
      },
    ),
    async (c) =>
      respond(
        c,
        await databases.remove(
          writeCtxOf(c),
          c.req.valid("param").connection_id,
          expectedVersions(c),
        ),
      ),
  );

  return router;
}
