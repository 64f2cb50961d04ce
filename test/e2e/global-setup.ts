import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { keys } from "../../src/core/cache/keys";
import { createUpstashRedis, UpstashCache } from "../../src/core/cache/upstash";
import { createSql } from "../../src/core/db/admin";
import { migrate } from "../../src/core/db/migrate";
import { migrationFilesFor } from "../../src/core/db/migration-files";
import { startUpstashProxy } from "../support/upstash-proxy";
import { baseEnv, freePort, type ServerProcess, startProcess, waitUntilReady } from "./processes";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: {
      bunUrl: string;
      workerUrl: string;
      /** A Worker started with invalid configuration, to see how it fails. */
      misconfiguredWorkerUrl: string;
      misconfiguredWorkerLog: string;
      /** Everything a test needs to start one more Bun server of its own. */
      databaseUrl: string;
    };
  }
}

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

/**
 * The two runtimes, for real, over HTTP: a fresh database on the local PostgreSQL (migrated and
 * seeded by our runner), the Upstash REST proxy in front of the local Redis, the Bun server and
 * `wrangler dev` (workerd, Hyperdrive's local connection string, static assets), all torn down
 * afterwards. TEST_DATABASE_URL and TEST_REDIS_URL default to the local services.
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
    const name = `neoadmin_e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = createSql(serverUrl, { max: 1 });
    cleanups.push(() => admin.end({ timeout: 1 }));
    await admin.unsafe(`create database ${name}`);
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    });
    const database = new URL(serverUrl);
    database.pathname = `/${name}`;
    const databaseUrl = database.toString();
    const sql = createSql(databaseUrl, { max: 1 });
    try {
      await migrate(sql, await migrationFilesFor("admin"), { role: "admin" });
    } finally {
      await sql.end();
    }

    const proxy = await startUpstashProxy({
      redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
      token: `e2e-${crypto.randomUUID()}`,
    });
    cleanups.push(() => proxy.close());
    // Reference data cached by an earlier run (maybe of older seeds) must not answer this one.
    await new UpstashCache(createUpstashRedis(proxy)).deleteByPrefix(keys.ref());

    await copied;
    const [bunPort, workerPort, workerInspector, brokenPort, brokenInspector] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const servers: ServerProcess[] = [];
    cleanups.push(() => Promise.all(servers.map((s) => s.stop())).then(() => {}));

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
        // As operators set it; without it the server would keep a generated key in ./.data.
        APP_ENCRYPTION_KEY: `e2e:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`,
      },
    });
    servers.push(bun);

    // Miniflare refuses a Hyperdrive connection string without a password; a server on trust
    // authentication ignores the placeholder.
    const hyperdrive = new URL(databaseUrl);
    if (!hyperdrive.password) hyperdrive.password = "unused";
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
    }) =>
      startProcess({
        name: options.name,
        command: join(BIN, "wrangler"),
        args: [
          "dev",
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
          // keeps the token out of the process list.
          "--env-file",
          envFile(options.name, options.vars),
        ],
        cwd: ROOT,
        logFile: join(work, `${options.name.replace(/\W+/g, "-")}.log`),
        env: {
          ...baseEnv(),
          ...WRANGLER_OFFLINE,
          WRANGLER_LOG_PATH: join(work, "wrangler-logs"),
          CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: hyperdrive.toString(),
        },
      });
    const worker = wrangler({
      name: "wrangler dev",
      port: workerPort,
      inspector: workerInspector,
      vars: {
        ENVIRONMENT: "test",
        UPSTASH_REDIS_REST_URL: proxy.url,
        UPSTASH_REDIS_REST_TOKEN: proxy.token,
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
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return cleanup;
}
