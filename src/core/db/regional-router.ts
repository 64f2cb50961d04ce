import postgres, { type Options, type Sql, type TransactionSql } from "postgres";
import type { SecretBox } from "../crypto/secret-box";
import { ApiError } from "../http/errors";

/**
 * The regional router (ARCHITECTURE "Data"): tenant → region → database connection → client.
 * The admin database is the only configured one; regional databases are rows of
 * `admin.database_connections`. Where the clients come from is the runtime's business
 * (a {@link ClientSource}): on Bun a pool per connection, created on first use and replaced as
 * soon as the row's connection settings change; on Workers the Hyperdrive binding the row names,
 * one client per request. See docs/decisions/0019-database-connections-and-regional-routing.md.
 */

export const SSL_MODES = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** What a client for a connection is built from (the row as the router reads it). */
export interface ConnectionSettings {
  id: string;
  region_id: string;
  host: string;
  port: number;
  database_name: string;
  username: string;
  /** `v1:<key id>:<iv>:<ciphertext>`, bound to {@link passwordContext}; never leaves the server. */
  encrypted_password: string | null;
  ssl_mode: SslMode;
  hyperdrive_binding: string | null;
  pool_max_size: number;
  pool_timeout_seconds: number;
  pool_recycle_seconds: number;
  is_active: boolean;
  deleted: boolean;
}

/** The additional data a connection's password is sealed with: it opens in this row only. */
export function passwordContext(connectionId: string): string {
  return `database_connections:${connectionId}:password`;
}

/** Settings that change what or how the client connects: a change means a new pool. */
export function fingerprintOf(s: ConnectionSettings): string {
  return JSON.stringify([
    s.host,
    s.port,
    s.database_name,
    s.username,
    s.encrypted_password,
    s.ssl_mode,
    s.hyperdrive_binding,
    s.pool_max_size,
    s.pool_timeout_seconds,
    s.pool_recycle_seconds,
  ]);
}

export async function readConnectionSettings(
  admin: Sql,
  id: string,
): Promise<ConnectionSettings | undefined> {
  const [row] = await admin<ConnectionSettings[]>`
    select id, region_id, host, port, database_name, username, encrypted_password, ssl_mode,
           hyperdrive_binding, pool_max_size, pool_timeout_seconds, pool_recycle_seconds,
           is_active, deleted_at is not null as deleted
    from admin.database_connections where id = ${id}`;
  return row;
}

function unavailable(message: string): ApiError {
  return new ApiError("SERVICE_UNAVAILABLE", message);
}

/** Where the clients come from: Bun pools, or Workers' Hyperdrive bindings. */
export interface ClientSource {
  /** The client for a connection (reused while its settings stay the same). */
  client(settings: ConnectionSettings): Promise<Sql>;
  /** A client of its own for one health probe (one connection); the caller ends it. */
  probe(settings: ConnectionSettings, timeoutSeconds: number): Promise<Sql>;
  /** Ends the client held for a connection, if any (after the row changed or was deactivated). */
  release(connectionId: string): Promise<void>;
  /** Ids of the connections that have a client open. */
  held(): string[];
  close(): Promise<void>;
}

/** postgres.js's `ssl` for libpq's sslmode. */
function sslOption(mode: SslMode): Options<Record<string, never>>["ssl"] {
  switch (mode) {
    case "disable":
      return false;
    // postgres.js has no "plain first, then TLS": `prefer` is the closest that still connects.
    case "allow":
    case "prefer":
      return "prefer";
    case "require":
      return "require";
    // The chain is verified, the host name is not (libpq's verify-ca).
    case "verify-ca":
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verify-full":
      return "verify-full";
  }
}

export type SocketFactory = () => Promise<unknown>;

export interface PooledClientsOptions {
  /** Opens stored passwords; without it a connection with a password cannot be used (503). */
  secretBox?: SecretBox;
  /**
   * A socket factory for a connection, or undefined for postgres.js's own socket. Bun passes the
   * host-checking one (guarded-socket.ts) unless private hosts are allowed.
   */
  socketFor?: (settings: ConnectionSettings, timeoutMs: number) => SocketFactory | undefined;
  applicationName?: string;
  /** How long an old pool's running queries may take to finish once it is replaced. */
  drainSeconds?: number;
}

/**
 * Bun: one postgres.js pool per connection, created on first use and keyed by the fingerprint of
 * the row's connection settings. A changed row (another host, password, pool size…) gets a new
 * pool on its next use and the old one is drained and ended: no restart.
 */
export function pooledClients(options: PooledClientsOptions = {}): ClientSource {
  const pools = new Map<string, { fingerprint: string; sql: Promise<Sql> }>();
  const drainSeconds = options.drainSeconds ?? 5;

  async function build(settings: ConnectionSettings, max: number, timeoutSeconds: number) {
    let password: string | undefined;
    if (settings.encrypted_password) {
      if (!options.secretBox) {
        throw unavailable(
          "Database passwords cannot be opened: APP_ENCRYPTION_KEY is not configured",
        );
      }
      try {
        password = await options.secretBox.open(
          settings.encrypted_password,
          passwordContext(settings.id),
        );
      } catch {
        throw unavailable(
          `The stored password of database connection ${settings.id} does not open with the configured keys: set it again (PUT)`,
        );
      }
    }
    const socket = options.socketFor?.(settings, timeoutSeconds * 1000);
    const config: Options<Record<string, never>> = {
      host: settings.host,
      port: settings.port,
      database: settings.database_name,
      username: settings.username,
      ...(password === undefined ? {} : { password }),
      ssl: sslOption(settings.ssl_mode),
      max,
      idle_timeout: 60,
      max_lifetime: settings.pool_recycle_seconds,
      connect_timeout: timeoutSeconds,
      prepare: true,
      onnotice: () => {},
      connection: { application_name: options.applicationName ?? "neoadmin-api" },
      transform: { undefined: null },
    };
    return postgres(socket ? Object.assign(config, { socket }) : config);
  }

  const end = (sql: Promise<Sql>, timeout: number) =>
    sql.then((client) => client.end({ timeout })).catch(() => {});

  return {
    async client(settings) {
      const fingerprint = fingerprintOf(settings);
      const held = pools.get(settings.id);
      if (held?.fingerprint === fingerprint) return held.sql;
      if (held) void end(held.sql, drainSeconds);
      const sql = build(settings, settings.pool_max_size, settings.pool_timeout_seconds);
      pools.set(settings.id, { fingerprint, sql });
      sql.catch(() => {
        if (pools.get(settings.id)?.sql === sql) pools.delete(settings.id);
      });
      return sql;
    },
    probe: (settings, timeoutSeconds) => build(settings, 1, timeoutSeconds),
    async release(connectionId) {
      const held = pools.get(connectionId);
      if (!held) return;
      pools.delete(connectionId);
      await end(held.sql, drainSeconds);
    },
    held: () => [...pools.keys()],
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((p) => end(p.sql, drainSeconds)));
    },
  };
}

/** A Cloudflare Hyperdrive binding (only the part we use). */
export interface HyperdriveBinding {
  readonly connectionString: string;
}

/**
 * Workers: the connection's `hyperdrive_binding` names the binding that reaches its database
 * (Hyperdrive holds the credentials and does the pooling). Clients are per request, since
 * workerd ties sockets to the request that opened them; `close()` ends them (in `waitUntil`).
 */
export function hyperdriveClients(bindings: Record<string, HyperdriveBinding>): ClientSource {
  const clients = new Map<string, Sql>();
  const open = (settings: ConnectionSettings, timeoutSeconds: number) => {
    const name = settings.hyperdrive_binding;
    const binding = name ? bindings[name] : undefined;
    if (!binding) {
      throw unavailable(
        name
          ? `Database connection ${settings.id} names Hyperdrive binding ${name}, which this Worker does not have`
          : `Database connection ${settings.id} has no Hyperdrive binding: it cannot be reached from Workers`,
      );
    }
    return postgres(binding.connectionString, {
      max: 1,
      connect_timeout: timeoutSeconds,
      prepare: true,
      onnotice: () => {},
      transform: { undefined: null },
    });
  };
  return {
    async client(settings) {
      let sql = clients.get(settings.id);
      if (!sql) {
        sql = open(settings, settings.pool_timeout_seconds);
        clients.set(settings.id, sql);
      }
      return sql;
    },
    probe: async (settings, timeoutSeconds) => open(settings, timeoutSeconds),
    async release(connectionId) {
      const sql = clients.get(connectionId);
      clients.delete(connectionId);
      await sql?.end({ timeout: 5 });
    },
    held: () => [...clients.keys()],
    async close() {
      const all = [...clients.values()];
      clients.clear();
      await Promise.all(all.map((sql) => sql.end({ timeout: 5 })));
    },
  };
}

/** The tenant's placement, as the router resolved it. */
export interface TenantRoute {
  tenantId: string;
  schemaName: string;
  regionId: string | null;
  connectionId: string;
}

/** Schema names as admin.tenants' CHECK allows them; checked again before any use. */
const SCHEMA_NAME = /^[a-z][a-z0-9_]*$/;

export interface RegionalRouter {
  /** The client of an active connection (503 when it is deactivated or cannot be reached). */
  clientForConnection(connectionId: string): Promise<Sql>;
  /** Where a tenant's data lives: its pinned connection, else its region's first active primary. */
  resolveTenant(tenantId: string): Promise<TenantRoute>;
  /**
   * Runs `fn` in a transaction on the tenant's regional database with `search_path` set to the
   * tenant's schema (a quoted identifier read from admin.tenants.schema_name). Resolve before
   * opening an admin transaction: on the embedded admin database (one connection) the lookup
   * would wait for that transaction.
   */
  withTenantSchema<T>(
    tenantId: string,
    fn: (tx: TransactionSql, route: TenantRoute) => Promise<T>,
  ): Promise<T>;
  /** A client of its own for a health probe, whatever the row's state; the caller ends it. */
  probe(settings: ConnectionSettings, timeoutSeconds: number): Promise<Sql>;
  /** Drops what is held for a connection: the databases service calls it after a change. */
  invalidate(connectionId: string): Promise<void>;
  /** Ids of the connections with an open client (diagnostics and tests). */
  heldConnections(): string[];
  close(): Promise<void>;
}

export function createRegionalRouter(options: {
  admin: Sql;
  source: ClientSource;
}): RegionalRouter {
  const { admin, source } = options;

  async function clientFor(settings: ConnectionSettings | undefined, id: string): Promise<Sql> {
    if (!settings || settings.deleted) {
      await source.release(id);
      throw unavailable(`Database connection ${id} does not exist`);
    }
    if (!settings.is_active) {
      await source.release(id);
      throw unavailable(`Database connection ${id} is deactivated`);
    }
    return source.client(settings);
  }

  async function resolveTenant(tenantId: string): Promise<TenantRoute> {
    const [row] = await admin<
      {
        schema_name: string;
        region_id: string | null;
        pinned: string | null;
        pinned_region: string | null;
        primary_id: string | null;
      }[]
    >`
      select t.schema_name, t.region_id, t.database_connection_id as pinned,
             c.region_id as pinned_region, p.id as primary_id
      from admin.tenants t
      left join admin.database_connections c on c.id = t.database_connection_id
      left join lateral (
        select id from admin.database_connections
        where region_id = t.region_id and connection_type = 'primary' and is_active
          and deleted_at is null
        order by created_at, id limit 1
      ) p on t.database_connection_id is null
      where t.id = ${tenantId}`;
    if (!row) throw new ApiError("NOT_FOUND", `Tenant ${tenantId} not found`);
    if (!SCHEMA_NAME.test(row.schema_name) || row.schema_name.length > 63) {
      throw new Error(`tenant ${tenantId} has an invalid schema name`);
    }
    // Data residency: a pinned connection must be in the tenant's own region.
    if (row.pinned && row.region_id && row.pinned_region !== row.region_id) {
      throw unavailable(
        `Tenant ${tenantId} is pinned to a database connection outside its region: refused`,
      );
    }
    const connectionId = row.pinned ?? row.primary_id;
    if (!connectionId) {
      throw unavailable(
        `Tenant ${tenantId} has no database: no pinned connection and no active primary connection in its region`,
      );
    }
    return { tenantId, schemaName: row.schema_name, regionId: row.region_id, connectionId };
  }

  return {
    async clientForConnection(connectionId) {
      return clientFor(await readConnectionSettings(admin, connectionId), connectionId);
    },
    resolveTenant,
    async withTenantSchema(tenantId, fn) {
      const route = await resolveTenant(tenantId);
      const sql = await clientFor(
        await readConnectionSettings(admin, route.connectionId),
        route.connectionId,
      );
      return (await sql.begin(async (tx) => {
        // `tx(name)` is an escaped, quoted identifier, never a formatted string; `local` ends
        // with the transaction, so a pooled connection never keeps another tenant's path.
        await tx`set local search_path to ${tx(route.schemaName)}`;
        return fn(tx as TransactionSql, route);
      })) as Awaited<ReturnType<typeof fn>>;
    },
    probe: (settings, timeoutSeconds) => source.probe(settings, timeoutSeconds),
    invalidate: (connectionId) => source.release(connectionId),
    heldConnections: () => source.held(),
    close: () => source.close(),
  };
}
