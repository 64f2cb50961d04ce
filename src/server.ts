import { createApp } from "./app";
import { bootstrap } from "./bootstrap";
import { type Config, ConfigError, loadConfig } from "./config";
import { systemAuditContext } from "./core/audit/audit-log";
import { internalErrorResponse } from "./core/http/internal-error";
import { batchedSink } from "./core/log/batched-sink";
import { createLogger, type Logger } from "./core/log/logger";
import { createLocalIdentity, LOCAL_SUPERADMIN, type LocalIdentity } from "./dev/local-identity";
import { authRepository } from "./features/auth/repository";
import { nodeModulesDocsAssets } from "./features/docs/assets.node";
import { syncPermissions } from "./features/permissions/service";

/**
 * The local identity provider on its own port, for `npm start` without KEYCLOAK_URL (never in
 * production: the configuration refuses that). Port 0 picks a free one.
 */
async function startLocalIdentity(config: Config, logger: Logger) {
  let handler: ((request: Request) => Response | Promise<Response>) | undefined;
  const server = Bun.serve({
    port: config.keycloak.localPort,
    hostname: "127.0.0.1",
    fetch: (request) => handler?.(request) ?? new Response("starting", { status: 503 }),
  });
  const local: LocalIdentity = await createLocalIdentity(config, {
    baseUrl: `http://127.0.0.1:${server.port}`,
  });
  handler = (request) => local.idp.app.fetch(request);
  logger.info("local identity provider started", {
    url: local.url,
    realm: config.keycloak.adminRealm,
    superadmin: LOCAL_SUPERADMIN.username,
  });
  return { local, stop: () => server.stop() };
}

/** Bun entry: `npm start`. Embedded database, cache and identity provider unless configured. */
async function main() {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // Log lines are written once per event-loop turn, not one write per line (see batched-sink),
  // with console.log: Bun's blocks until written, so the last lines survive process.exit.
  const logOutput = batchedSink((lines) => console.log(lines));
  process.on("exit", logOutput.flush);
  const logger = createLogger({
    level: config.logLevel,
    base: { service: "neoadmin-api" },
    sink: logOutput.sink,
  });
  // A signal while starting (migrations, seeds) ends the process at once, as the default
  // handler would, but through process.exit: its 'exit' event writes the pending log lines.
  // Once the server listens, `shutdown` (below) stops it gracefully instead.
  let onSignal = (signal: NodeJS.Signals): void => {
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGHUP" ? 1 : 15));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => onSignal(signal));
  }
  const localIdentity = config.keycloak.url ? undefined : await startLocalIdentity(config, logger);
  const runtime = await bootstrap(config, logger, {
    ...(localIdentity
      ? {
          identity: {
            url: localIdentity.local.url,
            clientSecret: localIdentity.local.clientSecret,
          },
        }
      : {}),
  });
  if (localIdentity) {
    // The seeded superadmin exists in the identity provider; make it one on the platform too.
    const repo = authRepository(runtime.deps.db);
    const user = await repo.upsertFromToken(
      {
        sub: localIdentity.local.superadminExternalId,
        username: LOCAL_SUPERADMIN.username,
        email: LOCAL_SUPERADMIN.email,
        firstName: LOCAL_SUPERADMIN.firstName,
        lastName: LOCAL_SUPERADMIN.lastName,
      },
      // Trusted: this process just created the account (with a new id at every start).
      { login: false, relinkByUsername: true },
    );
    if (!user) throw new Error(`the local superadmin's email is held by another platform user`);
    await repo.promoteToSuperadmin(user.id);
  }
  const app = createApp({
    config,
    deps: runtime.deps,
    socketAddress: (c) =>
      (
        c.env as { requestIP?: (r: Request) => { address: string } | null } | undefined
      )?.requestIP?.(c.req.raw)?.address,
    docsAssets: nodeModulesDocsAssets(),
  });
  const sync = await syncPermissions(runtime.deps.db, app.openApiDocument(), {
    dryRun: false,
    forceUpdate: false,
    audit: systemAuditContext("permissions declared by this release's routes, synced at start"),
  });
  logger.info("permissions synced", { declared: sync.declared, created: sync.created.length });

  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    fetch: (request, bunServer) => app.fetch(request, bunServer),
    // The app answers its own errors (onError); this is for one that escapes it, which Bun
    // would otherwise answer with its own error page.
    error: (error) => {
      logger.error("unhandled error outside the app", { error });
      return internalErrorResponse();
    },
    // Bodies beyond the app's limit are refused by the app with the envelope; this is the backstop.
    maxRequestBodySize: config.maxBodyBytes * 2,
  });
  logger.info("listening", {
    url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${server.port}`,
    environment: config.environment,
    database: runtime.database,
    cache: runtime.deps.cache.kind,
    identity: config.keycloak.url ? "keycloak" : "local",
    docs: config.docsEnabled ? "/docs" : "disabled",
  });

  let stopping = false;
  onSignal = (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    void (async () => {
      await server.stop();
      await localIdentity?.stop();
      await runtime.close();
      process.exit(0);
    })();
  };
}

await main();
