import type { ISql, Sql } from "postgres";
import { type AuditContext, recordAudit } from "../../core/audit/audit-log";
import { cachedValue, forgetValue } from "../../core/cache/cached-value";
import { keys } from "../../core/cache/keys";
import type { Cache } from "../../core/cache/port";
import type { SecretBox } from "../../core/crypto/secret-box";
import { normalizeHost, refusedHost } from "../../core/db/host-policy";
import { passwordContext, type RegionalRouter } from "../../core/db/regional-router";
import { checkViolation, foreignKeyViolation, uniqueViolation } from "../../core/db/sql-fragments";
import { ApiError } from "../../core/http/errors";
import { pagination } from "../../core/http/pagination";
import {
  type ExpectedVersions,
  preconditionFailed,
  versionMatches,
} from "../../core/http/versioning";
import type { Logger } from "../../core/log/logger";
import {
  type ConnectionRow,
  connectionsRepository,
  healthStatusOf,
  type ProbeTarget,
  presentConnection,
} from "./repository";
import {
  CONNECTION_SORTS,
  type ConnectionListInput,
  type CreateConnectionInput,
  type DatabaseConnection,
  type HealthCheckInput,
  type HealthCheckResult,
  MAX_CHECK_TIMEOUT_SECONDS,
  type UpdateConnectionInput,
} from "./schemas";

export interface DatabasesContext {
  db: Sql;
  cache: Cache;
  log: Logger;
  regional: RegionalRouter;
  /** Absent without an encryption key: writes that carry a password answer 503. */
  secretBox?: SecretBox;
  /** ALLOW_PRIVATE_DATABASE_HOSTS. */
  allowPrivateHosts: boolean;
}

/** Writes also carry who made them and why, for the audit entry. */
export interface DatabasesWriteContext extends DatabasesContext {
  audit: AuditContext;
}

const CACHE_TTL_SECONDS = 60;
const cacheKey = (id: string) => keys.platform("databases", id);
/** Probes at once in one health check: enough to be quick, few enough not to flood anything. */
const PROBE_CONCURRENCY = 8;
/** Without force_check, a connection checked this recently is reported, not probed again. */
const RECENT_CHECK_MS = 30_000;
/** Fields whose change makes the regional router drop the connection's pool. */
const ROUTING_FIELDS = [
  "host",
  "port",
  "database_name",
  "username",
  "password",
  "ssl_mode",
  "hyperdrive_binding",
  "pool_min_size",
  "pool_max_size",
  "pool_timeout_seconds",
  "pool_recycle_seconds",
  "pool_pre_ping",
  "is_active",
] as const;

function notFound(id: string): ApiError {
  return new ApiError("NOT_FOUND", `Database connection ${id} not found`, {
    details: [
      {
        code: "NOT_FOUND",
        message: "No such database connection",
        field: "connection_id",
        location: "path",
      },
    ],
  });
}

const conflict = (message: string, field: string, location = "body") =>
  ApiError.conflict(message, field, location);

function secretsUnavailable(): ApiError {
  return new ApiError(
    "SERVICE_UNAVAILABLE",
    "Passwords cannot be stored: no encryption key is configured (set APP_ENCRYPTION_KEY)",
  );
}

/** The host policy at write time (the Bun pools check resolved addresses again at connect). */
function assertHostAllowed(ctx: DatabasesContext, host: string): void {
  if (ctx.allowPrivateHosts) return;
  const why = refusedHost(host);
  if (why) {
    throw ApiError.badRequest(
      `Host ${host} is ${why}: database connections may not point there (ALLOW_PRIVATE_DATABASE_HOSTS is off)`,
      "host",
      "body",
    );
  }
}

/** Database refusals that are the caller's mistake, as field-level 4xx answers. */
function translateWriteError(error: unknown, input: { connection_name?: string }): never {
  const unique = uniqueViolation(error);
  if (unique === "database_connections_connection_name_key") {
    throw conflict(
      `A database connection named ${input.connection_name} exists (names are never reused)`,
      "connection_name",
    );
  }
  if (unique === "database_connections_hyperdrive_binding_key") {
    throw conflict("Another live connection uses this Hyperdrive binding", "hyperdrive_binding");
  }
  if (foreignKeyViolation(error)?.includes("region")) {
    throw ApiError.badRequest("Unknown region", "region_id", "body");
  }
  if (checkViolation(error) === "database_connections_pool_config") {
    throw ApiError.badRequest(
      "pool_min_size must not exceed pool_max_size",
      "pool_min_size",
      "body",
    );
  }
  throw error;
}

/**
 * The audit image: the API's representation (no ciphertext) and, when the request set or
 * removed a password, a `password` field that the audit log records only as present
 * (`[redacted]`) or null. The plaintext never reaches this function.
 */
function auditImage(connection: DatabaseConnection, password?: "set" | "removed") {
  if (!password) return connection;
  return { ...connection, password: password === "set" ? "set" : null };
}

/** The audit entry of a change to an existing connection, in the change's transaction. */
function auditChange(
  tx: ISql,
  ctx: DatabasesWriteContext,
  action: string,
  before: ConnectionRow,
  change: { after: DatabaseConnection; password?: "set" | "removed" | undefined },
): Promise<void> {
  return recordAudit(tx, ctx.audit, {
    action,
    resourceType: "database_connection",
    resourceId: before.id,
    before: presentConnection(before),
    after: auditImage(change.after, change.password),
  });
}

async function lockForWrite(tx: ISql, id: string, expected: ExpectedVersions) {
  const row = await connectionsRepository(tx).byId(id, { lock: true });
  if (!row) throw notFound(id);
  if (!versionMatches(expected, row.version)) throw preconditionFailed(row.version);
  return row;
}

/**
 * Refuses a change that would strand tenants: deactivating a connection that live tenants are
 * pinned to, or changing which connection a region's unpinned tenants are routed to (their
 * schemas live in the database they use now). Runs after the change, inside its transaction.
 */
async function assertTenantsKeepTheirDatabase(
  tx: ISql,
  before: ConnectionRow,
  after: { is_active: boolean },
  routeBefore: string | null,
  options: { deleting?: boolean } = {},
): Promise<void> {
  const repo = connectionsRepository(tx);
  // A deleted connection is gone for good, even for tenants pinned to it while it was inactive.
  if ((before.is_active || options.deleting) && !after.is_active) {
    const pinned = await repo.pinnedTenants(before.id);
    if (pinned > 0) {
      throw conflict(
        `${pinned} active tenant(s) use this database connection: move them first`,
        "connection_id",
        "path",
      );
    }
  }
  if (routeBefore === null) return;
  const routeAfter = await repo.regionRoute(before.region_id);
  if (routeAfter === routeBefore) return;
  const unpinned = await repo.unpinnedTenants(before.region_id);
  if (unpinned > 0) {
    throw conflict(
      `${unpinned} active tenant(s) of the region reach their database through this region's primary connection; this change would route them elsewhere`,
      "connection_id",
      "path",
    );
  }
}

async function seal(ctx: DatabasesContext, id: string, password: string): Promise<string> {
  if (!ctx.secretBox) throw secretsUnavailable();
  return ctx.secretBox.seal(password, passwordContext(id));
}

/** One probe: a client of its own, `select 1`, within the timeout; the client always ends. */
async function probe(ctx: DatabasesContext, target: ProbeTarget, timeoutSeconds: number) {
  const started = performance.now();
  let client: Sql | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = (async () => {
    client = await ctx.regional.probe(target, timeoutSeconds);
    await client`select 1`;
  })();
  attempt.catch(() => {});
  try {
    await Promise.race([
      attempt,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutSeconds} s`)),
          timeoutSeconds * 1000,
        );
      }),
    ]);
    return { ok: true, ms: performance.now() - started, error: null };
  } catch (error) {
    const message = (error as Error)?.message || "connection failed";
    ctx.log.warn("database health check failed", {
      connection_id: target.id,
      connection_name: target.connection_name,
      error: message,
    });
    return { ok: false, ms: performance.now() - started, error: message.slice(0, 300) };
  } finally {
    clearTimeout(timer);
    const opened = client as Sql | undefined;
    if (opened) void opened.end({ timeout: 0 }).catch(() => {});
  }
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the order of the results. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const databases = {
  async list(ctx: DatabasesContext, query: ConnectionListInput) {
    const { page, page_size, sort } = query;
    const { rows, summary } = await connectionsRepository(ctx.db).list({
      ...query,
      order: query.order ?? CONNECTION_SORTS[sort],
      limit: page_size,
      offset: (page - 1) * page_size,
    });
    return {
      items: rows.map(presentConnection),
      pagination: pagination(page, page_size, summary.total),
      health_summary: summary,
    };
  },

  healthReport: (ctx: DatabasesContext) => connectionsRepository(ctx.db).summary(),

  async get(ctx: DatabasesContext, id: string): Promise<DatabaseConnection> {
    const connection = await cachedValue(ctx, cacheKey(id), CACHE_TTL_SECONDS, async () => {
      const row = await connectionsRepository(ctx.db).byId(id);
      return row && presentConnection(row);
    });
    if (!connection) throw notFound(id);
    return connection;
  },

  async create(
    ctx: DatabasesWriteContext,
    input: CreateConnectionInput,
  ): Promise<DatabaseConnection> {
    const host = normalizeHost(input.host);
    assertHostAllowed(ctx, host);
    if (input.password !== undefined && !ctx.secretBox) throw secretsUnavailable();
    const { password, metadata, ...fields } = input;
    try {
      return await ctx.db.begin(async (tx) => {
        const repo = connectionsRepository(tx);
        const regionActive = await repo.regionActive(input.region_id);
        if (regionActive === undefined) {
          throw ApiError.badRequest(`Unknown region ${input.region_id}`, "region_id", "body");
        }
        if (!regionActive) {
          throw conflict("The region is deactivated: it takes no new connections", "region_id");
        }
        const id = await repo.newId();
        const values: Record<string, unknown> = { ...fields, id, host };
        if (metadata !== undefined) values.metadata = tx.json(metadata as never);
        if (password !== undefined) values.encrypted_password = await seal(ctx, id, password);
        const connection = presentConnection(
          await repo.insert(
            Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)),
          ),
        );
        await recordAudit(tx, ctx.audit, {
          action: "databases.create",
          resourceType: "database_connection",
          resourceId: id,
          after: auditImage(connection, password === undefined ? undefined : "set"),
        });
        return connection;
      });
    } catch (error) {
      translateWriteError(error, input);
    }
  },

  async update(
    ctx: DatabasesWriteContext,
    id: string,
    input: UpdateConnectionInput,
    expected: ExpectedVersions,
  ): Promise<DatabaseConnection> {
    const host = input.host === undefined ? undefined : normalizeHost(input.host);
    if (host !== undefined) assertHostAllowed(ctx, host);
    if (typeof input.password === "string" && !ctx.secretBox) throw secretsUnavailable();
    const { password, metadata, ...fields } = input;
    let connection: DatabaseConnection;
    try {
      connection = await ctx.db.begin(async (tx) => {
        const repo = connectionsRepository(tx);
        const before = await lockForWrite(tx, id, expected);
        if (input.is_active === true && !before.is_active) {
          if (!(await repo.regionActive(before.region_id))) {
            throw conflict("The region is deactivated: reactivate it first", "is_active");
          }
        }
        const routeBefore = await repo.regionRoute(before.region_id);
        const values: Record<string, unknown> = { ...fields, host };
        if (metadata !== undefined) values.metadata = tx.json(metadata as never);
        if (password !== undefined) {
          values.encrypted_password = password === null ? null : await seal(ctx, id, password);
        }
        const row = await repo.update(
          id,
          Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)),
        );
        await assertTenantsKeepTheirDatabase(tx, before, row, routeBefore);
        const after = presentConnection(row);
        await auditChange(tx, ctx, "databases.update", before, {
          after,
          password: password === undefined ? undefined : password === null ? "removed" : "set",
        });
        return after;
      });
    } catch (error) {
      translateWriteError(error, {});
    }
    await forgetValue(ctx, cacheKey(id));
    // The next use builds a pool with the new settings; running queries finish on the old one.
    if (ROUTING_FIELDS.some((field) => input[field] !== undefined)) {
      await ctx.regional.invalidate(id);
    }
    return connection;
  },

  /** Soft delete: deactivated and marked deleted (the name stays taken), its pool closed. */
  async remove(
    ctx: DatabasesWriteContext,
    id: string,
    expected: ExpectedVersions,
  ): Promise<DatabaseConnection> {
    const connection = await ctx.db.begin(async (tx) => {
      const repo = connectionsRepository(tx);
      const before = await lockForWrite(tx, id, expected);
      const routeBefore = await repo.regionRoute(before.region_id);
      const row = await repo.update(id, { is_active: false, deleted_at: new Date() });
      await assertTenantsKeepTheirDatabase(tx, before, row, routeBefore, { deleting: true });
      const after = presentConnection(row);
      await auditChange(tx, ctx, "databases.delete", before, { after });
      return after;
    });
    await forgetValue(ctx, cacheKey(id));
    await ctx.regional.invalidate(id);
    return connection;
  },

  /**
   * Probes connections (their own client, the decrypted password, `select 1`) concurrently, each
   * within the timeout, and records each outcome: a success makes the connection healthy, a
   * failure counts, and `max_consecutive_failures` of them in a row make it unhealthy.
   */
  async healthCheck(ctx: DatabasesWriteContext, input: HealthCheckInput) {
    const timeoutSeconds = Math.min(input.timeout_seconds, MAX_CHECK_TIMEOUT_SECONDS);
    const ids = input.connection_ids && [...new Set(input.connection_ids)];
    const targets = await connectionsRepository(ctx.db).settingsFor(ids);
    if (ids) {
      const found = new Set(targets.map((t) => t.id));
      const unknown = ids.filter((id) => !found.has(id));
      if (unknown.length > 0) {
        throw ApiError.badRequest(
          `Unknown database connection(s): ${unknown.join(", ")}`,
          "connection_ids",
          "body",
        );
      }
    }
    const now = Date.now();
    const outcomes = await mapLimited(targets, PROBE_CONCURRENCY, async (target) => {
      const recent =
        target.last_health_check && now - target.last_health_check.getTime() < RECENT_CHECK_MS;
      if (recent && !input.force_check) return { target, outcome: undefined };
      return { target, outcome: await probe(ctx, target, timeoutSeconds) };
    });
    const recorded = await ctx.db.begin(async (tx) => {
      const repo = connectionsRepository(tx);
      const rows = new Map<string, ConnectionRow>();
      for (const { target, outcome } of outcomes) {
        if (!outcome) continue;
        const row = await repo.recordHealth(target.id, outcome.ok);
        if (row) rows.set(target.id, row);
      }
      if (rows.size > 0) {
        await recordAudit(tx, ctx.audit, {
          action: "databases.health_check",
          resourceType: "database_connection",
          resourceId: null,
          after: {
            timeout_seconds: timeoutSeconds,
            results: outcomes
              .filter((o) => o.outcome)
              .map(({ target, outcome }) => ({
                connection_id: target.id,
                ok: outcome?.ok,
                error: outcome?.error,
              })),
          },
        });
      }
      return rows;
    });
    await forgetValue(ctx, ...[...recorded.keys()].map(cacheKey));
    const results: HealthCheckResult[] = outcomes.map(({ target, outcome }) => {
      const state = recorded.get(target.id) ?? target;
      return {
        connection_id: target.id,
        connection_name: target.connection_name,
        checked: outcome !== undefined,
        ok: outcome?.ok ?? null,
        response_time_ms: outcome ? Math.round(outcome.ms * 10) / 10 : null,
        error: outcome?.error ?? null,
        is_healthy: state.is_healthy,
        health_status: healthStatusOf(state),
        consecutive_failures: state.consecutive_failures,
        last_health_check: state.last_health_check?.toISOString() ?? null,
      };
    });
    return {
      timeout_seconds: timeoutSeconds,
      checked: results.filter((r) => r.checked).length,
      healthy: results.filter((r) => r.ok === true).length,
      unhealthy: results.filter((r) => r.ok === false).length,
      results,
    };
  },
};
