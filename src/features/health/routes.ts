import { createRoute, z } from "@hono/zod-openapi";
import type { Deps } from "../../core/deps";
import { respond } from "../../core/http/envelope";
import { ApiError } from "../../core/http/errors";
import { errorResponses, jsonEnvelope } from "../../core/http/openapi";
import { createRouter } from "../../core/http/router";
import { VERSION } from "../../version";

const CheckSchema = z
  .object({
    status: z.enum(["up", "down"]),
    latency_ms: z.number(),
    kind: z.string().optional(),
    error: z.string().optional(),
  })
  .openapi("HealthCheck");

const HealthSchema = z
  .object({
    status: z.enum(["healthy", "unhealthy"]),
    version: z.string(),
    environment: z.string(),
    checks: z.object({ database: CheckSchema, cache: CheckSchema }),
  })
  .openapi("Health");

const ServiceInfoSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    environment: z.string(),
    docs: z
      .object({ scalar: z.string(), swagger: z.string(), redoc: z.string(), openapi: z.string() })
      .nullable()
      .openapi({ description: "Where the docs are; null when DOCS_ENABLED is off." }),
  })
  .openapi("ServiceInfo");

const ProbeSchema = z.object({ status: z.enum(["alive", "ready"]) }).openapi("Probe");

const CHECK_TIMEOUT_MS = 2000;

async function timed(
  check: () => Promise<unknown>,
  kind?: string,
): Promise<z.infer<typeof CheckSchema>> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return {
      status: "up",
      latency_ms: round(performance.now() - started),
      ...(kind ? { kind } : {}),
    };
  } catch (error) {
    // The reason is generic on purpose: driver messages can carry host names and users.
    const reason =
      error instanceof Error && error.message.startsWith("no answer") ? "timeout" : "unreachable";
    return {
      status: "down",
      latency_ms: round(performance.now() - started),
      error: reason,
      ...(kind ? { kind } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

async function checks(deps: Deps) {
  const [database, cache] = await Promise.all([
    timed(() => deps.db`select 1`),
    timed(() => deps.cache.ping(), deps.cache.kind),
  ]);
  return { database, cache };
}

const common = { tags: ["Health"], security: [] };

export function healthRoutes() {
  const router = createRouter();

  router.openapi(
    createRoute({
      ...common,
      method: "get",
      path: "/",
      operationId: "getServiceInfo",
      summary: "Service name, version and documentation links",
      description: "What this server is: name, version, environment and where its docs are.",
      responses: { 200: jsonEnvelope(ServiceInfoSchema, "Service information") },
    }),
    (c) => {
      const { config } = c.get("deps");
      return respond(c, {
        name: "NeoAdmin API",
        version: VERSION,
        environment: config.environment,
        docs: config.docsEnabled
          ? { scalar: "/docs", swagger: "/swagger", redoc: "/redoc", openapi: "/openapi.json" }
          : null,
      });
    },
  );

  router.openapi(
    createRoute({
      ...common,
      method: "get",
      path: "/health",
      operationId: "getHealth",
      summary: "Health of the API and its dependencies",
      description:
        "Checks the admin database and the cache with their latency. 503 when any is down.",
      responses: {
        200: jsonEnvelope(HealthSchema, "All dependencies answer"),
        503: jsonEnvelope(HealthSchema, "A dependency is down"),
      },
    }),
    async (c) => {
      const deps = c.get("deps");
      const result = await checks(deps);
      const healthy = result.database.status === "up" && result.cache.status === "up";
      c.header("Cache-Control", "no-store");
      const data = {
        status: healthy ? ("healthy" as const) : ("unhealthy" as const),
        version: VERSION,
        environment: deps.config.environment,
        checks: result,
      };
      return healthy ? respond(c, data) : respond(c, data, { status: 503 });
    },
  );

  router.openapi(
    createRoute({
      ...common,
      method: "get",
      path: "/health/live",
      operationId: "getLiveness",
      summary: "Liveness probe",
      description:
        "The process answers. Checks nothing else, so a dependency outage never restarts it.",
      responses: { 200: jsonEnvelope(ProbeSchema, "Alive") },
    }),
    (c) => {
      c.header("Cache-Control", "no-store");
      return respond(c, { status: "alive" as const });
    },
  );

  router.openapi(
    createRoute({
      ...common,
      method: "get",
      path: "/health/ready",
      operationId: "getReadiness",
      summary: "Readiness probe",
      description: "Ready to serve: the admin database answers. 503 otherwise.",
      responses: {
        200: jsonEnvelope(ProbeSchema, "Ready"),
        ...errorResponses(503),
      },
    }),
    async (c) => {
      c.header("Cache-Control", "no-store");
      const database = await timed(() => c.get("deps").db`select 1`);
      if (database.status === "up") return respond(c, { status: "ready" as const });
      throw new ApiError("SERVICE_UNAVAILABLE", "Not ready: the admin database does not answer");
    },
  );

  return router;
}
