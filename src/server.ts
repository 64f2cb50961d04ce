import { createApp } from "./app";
import { bootstrap } from "./bootstrap";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./core/log/logger";
import { nodeModulesDocsAssets } from "./features/docs/assets.node";

/** Bun entry: `npm start`. Embedded database and in-process cache unless configured otherwise. */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, base: { service: "neoadmin-api" } });
  const runtime = await bootstrap(config, logger);
  const app = createApp({
    config,
    deps: runtime.deps,
    socketAddress: (c) =>
      (
        c.env as { requestIP?: (r: Request) => { address: string } | null } | undefined
      )?.requestIP?.(c.req.raw)?.address,
    docsAssets: nodeModulesDocsAssets(),
  });
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    fetch: (request, bunServer) => app.fetch(request, bunServer),
    // Bodies beyond the app's limit are refused by the app with the envelope; this is the backstop.
    maxRequestBodySize: config.maxBodyBytes * 2,
  });
  logger.info("listening", {
    url: `http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${server.port}`,
    environment: config.environment,
    database: runtime.database,
    cache: runtime.deps.cache.kind,
    docs: config.docsEnabled ? "/docs" : "disabled",
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal });
    await server.stop();
    await runtime.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

await main();
