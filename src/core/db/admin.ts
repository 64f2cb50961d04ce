import postgres, { type Sql } from "postgres";

export type { Sql };

/**
 * A postgres.js client for the admin database. On Bun it is the process-wide pool; on Workers
 * one is made per request over the Hyperdrive connection string (Hyperdrive does the pooling).
 */
export function createSql(url: string, options: { max: number; applicationName?: string }): Sql {
  return postgres(url, {
    max: options.max,
    idle_timeout: 30,
    connect_timeout: 10,
    // Reference tables are read with a handful of statements: preparing them pays off on Bun.
    prepare: true,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "neoadmin-api" },
    transform: { undefined: null },
  });
}
