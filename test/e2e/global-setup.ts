import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { loadConfig } from "../../src/config";
import { keys } from "../../src/core/cache/keys";
import { createUpstashRedis, UpstashCache } from "../../src/core/cache/upstash";
import { createSql } from "../../src/core/db/admin";
import { migrate } from "../../src/core/db/migrate";
import { migrationFilesFor } from "../../src/core/db/migration-files";
import { createLocalIdentity } from "../../src/dev/local-identity";
import { serverDatabase } from "../support/scratch-database";
import { serve } from "../support/serve-node";
import { startUpstashProxy } from "../support/upstash-proxy";
import { baseEnv, freePort, type ServerProcess, startProcess, waitUntilReady } from "./processes";
import { wranglerConfigWith } from "./wrangler-config";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: {
      bunUrl: string;
      workerUrl: string;
      /** A Worker started with invalid configuration, to see how it fails. */
      misconfiguredWorkerUrl: string;
      misconfiguredWorkerLog: string;
      /** The admin database both runtimes use (and a test needs to start a Bun server). */
      databaseUrl: string;
      /** Accounts of the Worker's identity provider; the Bun server has its own superadmin. */
      workerAccounts: Record<"admin" | "reader", Account>;
      /** Scratch databases on the same server, by the Hyperdrive binding the Worker has. */
      regionalDatabases: Record<RegionalBinding, RegionalDatabase>;
    };
  }
}

export interface Account {
  username: string;
  password: string;
}

/** Where a scratch database is, as a database connection names it. */
export interface RegionalDatabase {
  host: string;
  port: number;
  database: string;
  username: string;
  /** The server's, if it asks for one (the local PostgreSQL trusts local connections). */
  password: string | undefined;
}

/** The Worker's extra Hyperdrive bindings, each to a scratch database of its own. */
const REGIONAL_BINDINGS = ["REGION_A", "REGION_B"] as const;
export type RegionalBinding = (typeof REGIONAL_BINDINGS)[number];

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "node_modules/.bin");
const READY_TIMEOUT_MS = 90_000;

/** wrangler must run offline: no telemetry, no update check, no `request.cf` download. */
const WRANGLER_OFFLINE = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  // The update check runs while printing the banner; hiding the banner skips it.
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** A password the local identity provider accepts, different at every run. */
function randomPassword(): string {
  return `E2e-${crypto.randomUUID()}-Aa1`;
}

/**
 * The two runtimes, for real, over HTTP: a fresh database on the local PostgreSQL (migrated and
 * seeded by our runner), the Upstash REST proxy in front of the local Redis, the Bun server and
 * `wrangler dev` (workerd, Hyperdrive's local connection strings, static assets), all torn down
 * afterwards. TEST_DATABASE_URL and TEST_REDIS_URL default to the local services.
 *
 * The Bun server signs in through its own in-process identity provider. The Worker gets the
 * project's local identity provider served from this process as its KEYCLOAK_URL, and two more
 * Hyperdrive bindings (a config generated from wrangler.toml), each to a scratch database.
 */
export default async function setup(project: TestProject) {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
    cleanups.length = 0;
  };
  try {
    const work = await mkdtemp(join(tmpdir(), "neoadmin-e2e-"));
    cleanups.push(() => rm(work, { recursive: true, force: true }));

    // In parallel with the database work; awaited before wrangler starts.
    const copied = promisify(execFile)(process.execPath, ["scripts/copy-docs-assets.mjs"], {
      cwd: ROOT,
    });
    copied.catch(() => {}); // reported by the await below, not as an unhandled rejection

    const serverUrl =
      process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const [adminDatabase, ...scratch] = await Promise.all(
      ["neoadmin_e2e", ...REGIONAL_BINDINGS.map((b) => `neoadmin_e2e_${b.toLowerCase()}`)].map(
        async (prefix) => {
          const database = await serverDatabase(serverUrl, prefix);
          cleanups.push(() => database.drop());
          return database;
        },
      ),
    );
    if (!adminDatabase) throw new Error("no admin database");
    const databaseUrl = adminDatabase.url;
    const sql = createSql(databaseUrl, { max: 1 });
    try {
      await migrate(sql, await migrationFilesFor("admin"), { role: "admin" });
    } finally {
      await sql.end();
    }
    const regional = REGIONAL_BINDINGS.map((binding, index) => ({
      binding,
      url: new URL(scratch[index]?.url ?? ""),
    }));

    const proxy = await startUpstashProxy({
      redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
      token: `e2e-${crypto.randomUUID()}`,
    });
    cleanups.push(() => proxy.close());
    const redis = createUpstashRedis(proxy);
    // Reference data cached by an earlier run (maybe of older seeds) must not answer this one.
    await new UpstashCache(redis).deleteByPrefix(keys.ref());
    // Sign-ins are limited per username and address (token buckets `ratelimit:<rule>:<who>`),
    // and earlier runs, and other suites on this machine, share the Redis: this run's superadmin
    // sign-in from 127.0.0.1 starts with full buckets.
    await redis.del("ratelimit:login-user:superadmin", "ratelimit:login-ip:127.0.0.1");

    // The Worker's identity provider. Its accounts are named per run: both runtimes share the
    // admin database (usernames are unique there) and the Redis (sign-in limits per username).
    let idpHandler: ((request: Request) => Response | Promise<Response>) | undefined;
    const idpServer = await serve(
      (request) => idpHandler?.(request) ?? new Response("starting", { status: 503 }),
    );
    cleanups.push(() => idpServer.close());
    const idpConfig = loadConfig({ ENVIRONMENT: "test" });
    const identity = await createLocalIdentity(idpConfig, { baseUrl: idpServer.url });
    idpHandler = (request) => identity.idp.app.fetch(request);
    const run = Math.random().toString(36).slice(2, 8);
    const workerAccounts = {
      admin: { username: `worker-admin-${run}`, password: randomPassword() },
      reader: { username: `worker-reader-${run}`, password: randomPassword() },
    };
    for (const account of Object.values(workerAccounts)) {
      await identity.idp.admin.createUser(idpConfig.keycloak.adminRealm, {
        ...account,
        email: `${account.username}@e2e.invalid`,
        emailVerified: true,
        enabled: true,
      });
    }

    await copied;
    const workerConfig = await wranglerConfigWith({
      root: ROOT,
      dir: work,
      hyperdrive: REGIONAL_BINDINGS,
    });
    const [bunPort, workerPort, workerInspector, brokenPort, brokenInspector] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const servers: ServerProcess[] = [];
    cleanups.push(() => Promise.all(servers.map((s) => s.stop())).then(() => {}));

    // As operators set it, one key for the deployment; without it the Bun server would keep a
    // generated key in ./.data and the Worker could not seal database passwords.
    const encryptionKey = `e2e:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
    const bun = startProcess({
      name: "bun server",
      command: join(BIN, "bun"),
      // Only the settings below: no developer .env files.
      args: ["--no-env-file", "src/server.ts"],
      cwd: ROOT,
      logFile: join(work, "bun.log"),
      env: {
        ...baseEnv(),
        ENVIRONMENT: "test",
        HOST: "127.0.0.1",
        PORT: String(bunPort),
        // The local identity provider on a free port: never collide with a developer's server.
        LOCAL_IDP_PORT: "0",
        ADMIN_DATABASE_URL: databaseUrl,
        UPSTASH_REDIS_REST_URL: proxy.url,
        UPSTASH_REDIS_REST_TOKEN: proxy.token,
        APP_ENCRYPTION_KEY: encryptionKey,
      },
    });
    servers.push(bun);

    // Miniflare refuses a Hyperdrive connection string without a password; a server on trust
    // authentication ignores the placeholder.
    const hyperdrive = (url: string | URL) => {
      const withPassword = new URL(url);
      if (!withPassword.password) withPassword.password = "unused";
      return withPassword.toString();
    };
    const envFile = (name: string, vars: Record<string, string>) => {
      const path = join(work, `${name.replace(/\W+/g, "-")}.env`);
      writeFileSync(
        path,
        Object.entries(vars)
          .map(([key, value]) => `${key}=${JSON.stringify(value)}\n`)
          .join(""),
      );
      return path;
    };
    const wrangler = (options: {
      name: string;
      port: number;
      inspector: number;
      vars: Record<string, string>;
      config?: string;
    }) =>
      startProcess({
        name: options.name,
        command: join(BIN, "wrangler"),
        args: [
          "dev",
          ...(options.config ? ["--config", options.config] : []),
          "--ip",
          "127.0.0.1",
          "--port",
          String(options.port),
          "--inspector-port",
          String(options.inspector),
          "--persist-to",
          join(work, `${options.name.replace(/\W+/g, "-")}-state`),
          "--show-interactive-dev-session=false",
          "--live-reload=false",
          // Our settings only: an --env-file replaces the developer's .dev.vars and .env, and
          // keeps the secrets out of the process list.
          "--env-file",
          envFile(options.name, options.vars),
        ],
        cwd: ROOT,
        logFile: join(work, `${options.name.replace(/\W+/g, "-")}.log`),
        env: {
          ...baseEnv(),
          ...WRANGLER_OFFLINE,
          WRANGLER_LOG_PATH: join(work, "wrangler-logs"),
          CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: hyperdrive(databaseUrl),
          ...Object.fromEntries(
            regional.map(({ binding, url }) => [
              `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_${binding}`,
              hyperdrive(url),
            ]),
          ),
        },
      });
    const worker = wrangler({
      name: "wrangler dev",
      config: workerConfig,
      port: workerPort,
      inspector: workerInspector,
      vars: {
        ENVIRONMENT: "test",
        UPSTASH_REDIS_REST_URL: proxy.url,
        UPSTASH_REDIS_REST_TOKEN: proxy.token,
        KEYCLOAK_URL: identity.url,
        KEYCLOAK_CLIENT_SECRET: identity.clientSecret,
        APP_ENCRYPTION_KEY: encryptionKey,
      },
    });
    servers.push(worker);
    const broken = wrangler({
      name: "misconfigured wrangler dev",
      port: brokenPort,
      inspector: brokenInspector,
      vars: {
        ENVIRONMENT: "e2e-bogus-environment",
        // Rejected (not http/https); URLs may carry credentials, so no message may echo it.
        UPSTASH_REDIS_REST_URL: "ftp://e2e-secret-host.example.com",
      },
    });
    servers.push(broken);

    const bunUrl = `http://127.0.0.1:${bunPort}`;
    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const misconfiguredWorkerUrl = `http://127.0.0.1:${brokenPort}`;
    await Promise.all([
      waitUntilReady(bun, `${bunUrl}/health/live`, { timeoutMs: READY_TIMEOUT_MS }),
      waitUntilReady(worker, `${workerUrl}/health/live`, { timeoutMs: READY_TIMEOUT_MS }),
      // It answers every request with 500 by design.
      waitUntilReady(broken, `${misconfiguredWorkerUrl}/health/live`, {
        timeoutMs: READY_TIMEOUT_MS,
        status: 500,
      }),
    ]);

    project.provide("e2e", {
      bunUrl,
      workerUrl,
      misconfiguredWorkerUrl,
      misconfiguredWorkerLog: broken.logFile,
      databaseUrl,
      workerAccounts,
      regionalDatabases: Object.fromEntries(
        regional.map(({ binding, url }) => [
          binding,
          {
            host: url.hostname,
            port: Number(url.port || 5432),
            database: url.pathname.slice(1),
            username: decodeURIComponent(url.username) || "postgres",
            password: url.password ? decodeURIComponent(url.password) : undefined,
          },
        ]),
      ) as Record<RegionalBinding, RegionalDatabase>,
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return cleanup;
}
