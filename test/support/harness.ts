import { inject } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createSql } from "../../src/core/db/admin";
import type { Deps } from "../../src/core/deps";
import { createLogger } from "../../src/core/log/logger";
import { createSharedDeps } from "../../src/core/shared-deps";
import { nodeModulesDocsAssets } from "../../src/features/docs/assets.node";

export interface TestApp {
  app: ReturnType<typeof createApp>;
  deps: Deps;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  /** The raw log text, for "no secret ever appears" assertions. */
  logText(): string;
  /** A request from a given client address (the socket address in tests). */
  request(path: string, init?: RequestInit & { ip?: string }): Promise<Response>;
  close(): Promise<void>;
}

/** A random private address, so tests never share per-IP limits with each other. */
export function randomIp(): string {
  const n = () => Math.floor(Math.random() * 254) + 1;
  return `10.${n()}.${n()}.${n()}`;
}

/**
 * The real app, against the run's database and (with TEST_REDIS_URL) the real Redis through the
 * Upstash REST proxy. `env` overrides configuration the way operators set it.
 */
export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const upstash = inject("upstash");
  const config = loadConfig({
    ENVIRONMENT: "test",
    LOG_LEVEL: "debug",
    ADMIN_DATABASE_URL: inject("databaseUrl"),
    ...(upstash
      ? { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token }
      : {}),
    ...env,
  });
  const lines: string[] = [];
  const logger = createLogger({ level: config.logLevel, sink: (line) => lines.push(line) });
  const db = createSql(inject("databaseUrl"), { max: 1 });
  const deps: Deps = { ...createSharedDeps(config, logger), db, waitUntil: () => {} };
  const defaultIp = randomIp();
  const app = createApp({
    config,
    deps,
    socketAddress: (c) => c.req.header("x-test-peer") ?? defaultIp,
    docsAssets: nodeModulesDocsAssets(),
  });
  return {
    app,
    deps,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join("\n"),
    async request(path, init = {}) {
      const { ip, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set("x-test-peer", ip ?? defaultIp);
      return app.request(path, { ...rest, headers });
    },
    async close() {
      await db.end({ timeout: 1 });
    },
  };
}
