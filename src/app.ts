import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Config } from "./config";
import type { AppEnv, Deps } from "./core/deps";
import type { SocketAddress } from "./core/http/client-ip";
import { withFastLane } from "./core/http/fast-lane";
import { notFoundHandler, onError } from "./core/http/middleware/errors";
import { requestContext } from "./core/http/middleware/request-context";
import { bodyLimitOf, corsFor, securityHeaders } from "./core/http/middleware/security";
import { validationHook } from "./core/http/validation";
import { auditRoutes } from "./features/audit/routes";
import { authRoutes } from "./features/auth/routes";
import { databaseRoutes } from "./features/databases/routes";
import { buildDocument, type OpenApiDocument } from "./features/docs/document";
import { type DocsAssets, docsRoutes } from "./features/docs/routes";
import { healthRoutes } from "./features/health/routes";
import { organizationRoutes } from "./features/organizations/routes";
import { permissionRoutes } from "./features/permissions/routes";
import { referenceDataRoutes } from "./features/reference-data/routes";
import { regionRoutes } from "./features/regions/routes";
import { roleRoutes } from "./features/roles/routes";
import { sessionRoutes } from "./features/sessions/routes";
import { userRoutes } from "./features/users/routes";
import { VERSION } from "./version";

export interface AppOptions {
  config: Config;
  /** The dependencies, or (Workers) a function building them for each request. */
  deps: Deps | ((c: Context<AppEnv>) => Deps);
  /** How the runtime reports the peer's address. */
  socketAddress: SocketAddress;
  /** Where the docs pages load their scripts from (node_modules on Bun, static assets on Workers). */
  docsAssets?: DocsAssets;
  /** The warm-read fast lane (ADR 0016); `false` sends every request through Hono. Default on. */
  fastLane?: boolean;
}

/** The whole API, runtime-agnostic: src/server.ts (Bun) and src/worker.ts (Workers) wrap it. */
export function createApp(options: AppOptions) {
  const { config } = options;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requestContext({ deps: options.deps, socketAddress: options.socketAddress }));
  app.use("*", securityHeaders());
  // Without allowed origins there is nothing for CORS to answer: skip its per-request cost.
  if (config.corsOrigins.length > 0) app.use("*", corsFor(config.corsOrigins));
  app.use("*", bodyLimitOf(config.maxBodyBytes));

  let document: OpenApiDocument | undefined;
  const openApiDocument = () => {
    document ??= buildDocument(app, VERSION);
    return document;
  };
  app.route("/", healthRoutes());
  const referenceData = referenceDataRoutes();
  app.route("/api/v1", referenceData);
  app.route("/api/v1", sessionRoutes());
  app.route("/api/v1", authRoutes());
  app.route("/api/v1", permissionRoutes({ document: () => openApiDocument() }));
  app.route("/api/v1", roleRoutes());
  app.route("/api/v1", regionRoutes());
  app.route("/api/v1", auditRoutes());
  app.route("/api/v1", organizationRoutes());
  app.route("/api/v1", userRoutes());
  app.route("/api/v1", databaseRoutes());

  if (config.docsEnabled)
    app.route("/", docsRoutes({ document: openApiDocument, assets: options.docsAssets }));

  app.notFound(notFoundHandler(() => app.routes));
  app.onError(onError);
  // Warm guest reads of cached reference data are answered before the middleware chain (ADR 0016).
  const fetch = withFastLane(app, {
    ...options,
    enabled: options.fastLane,
    reads: [referenceData.warmReads("/api/v1")],
  });
  return Object.assign(app, { openApiDocument, fetch });
}

export type App = ReturnType<typeof createApp>;
