import type { ExecutionContext } from "hono";
import { type App, createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { createSql } from "./core/db/admin";
import {
  createRegionalRouter,
  type HyperdriveBinding,
  hyperdriveClients,
} from "./core/db/regional-router";
import type { Deps } from "./core/deps";
import { internalErrorResponse } from "./core/http/internal-error";
import { createLogger, type Logger } from "./core/log/logger";
import { createSharedDeps, type SharedDeps } from "./core/shared-deps";
import type { DocsAssets } from "./features/docs/assets";

/**
 * Cloudflare Workers entry (wrangler.toml, `npm run dev:worker`). The minimal shapes of the
 * bindings we use are declared here rather than pulling in @cloudflare/workers-types, whose
 * globals clash with bun-types and the DOM lib in our one tsconfig.
 */
type Hyperdrive = HyperdriveBinding;

interface Fetcher {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}

export interface WorkerEnv {
  /** The admin database. Regional databases have bindings of their own, named by their rows. */
  HYPERDRIVE?: Hyperdrive;
  /** Static assets (wrangler.toml `[assets]`): the docs UIs' scripts and stylesheets. */
  ASSETS?: Fetcher;
  /** `[vars]` and secrets: strings, parsed by loadConfig. */
  [name: string]: unknown;
}

/**
 * What the app sees as `c.env`: the per-request dependencies, never the raw Workers env, so
 * nothing in the app can read configuration behind loadConfig's back.
 */
interface RequestBindings {
  deps: Deps;
}

type Isolate =
  | {
      ok: true;
      app: App;
      shared: SharedDeps;
      logger: Logger;
      hyperdrive: Hyperdrive;
      /** Every Hyperdrive binding, by name: `database_connections.hyperdrive_binding` picks one. */
      regionalBindings: Record<string, Hyperdrive>;
    }
  | { ok: false };

/**
 * Per isolate, built on the first request rather than at module evaluation: workerd forbids
 * timers, random values and I/O in global scope, and the env only arrives with a request.
 * Everything here is safe to share between requests; database clients are not (see below).
 */
let isolate: Isolate | undefined;

function stringVars(env: WorkerEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (typeof value === "string") vars[name] = value;
  return vars;
}

function isHyperdrive(value: unknown): value is Hyperdrive {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { connectionString?: unknown }).connectionString === "string"
  );
}

function assetsFrom(assets: Fetcher | undefined): DocsAssets | undefined {
  if (!assets) return undefined;
  return async (name) => {
    // The host is ignored by the assets binding; only the path names the file.
    const response = await assets.fetch(`https://assets.invalid/docs/assets/${name}`);
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    return response.arrayBuffer();
  };
}

function start(env: WorkerEnv): Isolate {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(stringVars(env));
    if (!isHyperdrive(env.HYPERDRIVE)) {
      throw new ConfigError([
        "HYPERDRIVE: expected a Hyperdrive binding (wrangler.toml [[hyperdrive]] binding = HYPERDRIVE)",
      ]);
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Logged once per isolate; ConfigError names variables and never echoes secrets or URLs.
    console.error(
      JSON.stringify({
        time: new Date().toISOString(),
        level: "error",
        msg: "invalid configuration: every request is answered with 500",
        service: "neoadmin-api",
        runtime: "workers",
        problems: error.problems,
      }),
    );
    return { ok: false };
  }
  const logger = createLogger({
    level: config.logLevel,
    base: { service: "neoadmin-api", runtime: "workers" },
  });
  const shared = createSharedDeps(config, logger);
  const app = createApp({
    config,
    deps: (c) => (c.env as RequestBindings).deps,
    socketAddress: (c) => c.req.header("cf-connecting-ip"),
    docsAssets: assetsFrom(env.ASSETS),
  });
  const regionalBindings: Record<string, Hyperdrive> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name !== "HYPERDRIVE" && isHyperdrive(value)) regionalBindings[name] = value;
  }
  if (!shared.secretBox) {
    logger.warn("APP_ENCRYPTION_KEY is not set: database connection passwords cannot be set (503)");
  }
  return { ok: true, app, shared, logger, hyperdrive: env.HYPERDRIVE, regionalBindings };
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    isolate ??= start(env);
    if (!isolate.ok) return internalErrorResponse(request.headers.get("x-request-id"));
    const { app, shared, logger, hyperdrive, regionalBindings } = isolate;

    // A postgres.js client holds sockets, and workerd ties sockets to the request that opened
    // them: a module-scope client fails on the next request ("Cannot perform I/O on behalf of a
    // different request"). Hyperdrive pools the real connections, so a per-request client is
    // cheap; it connects lazily, so requests that never query never connect.
    const db = createSql(hyperdrive.connectionString, { max: 1 });
    // Regional clients are per request too, over the binding each connection row names.
    const regional = createRegionalRouter({
      admin: db,
      source: hyperdriveClients(regionalBindings),
    });
    const waitUntil = (promise: Promise<unknown>) =>
      ctx.waitUntil(
        promise.catch((error: unknown) => logger.warn("background task failed", { error })),
      );
    const bindings: RequestBindings = { deps: { ...shared, db, regional, waitUntil } };
    try {
      return await app.fetch(request, bindings, ctx);
    } catch (error) {
      // The app's onError answers everything it sees; this is for failures around it.
      logger.error("request failed outside the app", { error });
      return internalErrorResponse(request.headers.get("x-request-id"));
    } finally {
      waitUntil(regional.close());
      waitUntil(db.end({ timeout: 5 }));
    }
  },
};
