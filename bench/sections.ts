/**
 * Where the guest path's time goes, without a network or a load generator: the app's
 * `app.fetch` is called in-process for the warm guest request, sequentially, with parts of the
 * request path swapped for no-op stand-ins one at a time, plus micro-timings of the pieces each
 * warm request runs. Each variant is measured in interleaved batches; the median is reported.
 *
 *   ADMIN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> bun bench/sections.ts
 *
 * Without ADMIN_DATABASE_URL an in-memory PGlite is used (slow to start). bench/run.mjs runs this
 * with `--sections` against its temporary database. Only the numbers' differences matter: they
 * are CPU time on whatever core this runs on, with no HTTP server in the way.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { Hono, type MiddlewareHandler } from "hono";
import { createApp } from "../src/app";
import { bootstrap } from "../src/bootstrap";
import { loadConfig } from "../src/config";
import { type GuestAccess, GuestSessions } from "../src/core/auth/guest-sessions";
import { MemoryRateLimiter } from "../src/core/auth/rate-limiter";
import { sha256HexSync } from "../src/core/auth/token-hash";
import type { CacheKey } from "../src/core/cache/keys";
import { LocalCache } from "../src/core/cache/local-cache";
import { MemoryCache } from "../src/core/cache/memory";
import type { Cache } from "../src/core/cache/port";
import { sha256Hex } from "../src/core/crypto/hash";
import type { AppEnv, Deps } from "../src/core/deps";
import { onError } from "../src/core/http/middleware/errors";
import { requestContext } from "../src/core/http/middleware/request-context";
import { bodyLimitOf, corsFor, securityHeaders } from "../src/core/http/middleware/security";
import { validationHook } from "../src/core/http/validation";
import { createLogger, type LogLevel } from "../src/core/log/logger";
import { createSharedDeps } from "../src/core/shared-deps";
import { referenceDataRoutes } from "../src/features/reference-data/routes";
import { CurrencyListQuery } from "../src/features/reference-data/schemas";

const PATH = "/api/v1/currencies?page=1&page_size=20";
const URL_UNDER_TEST = `http://127.0.0.1${PATH}`;
const BATCH = Number(process.env.SECTIONS_BATCH ?? 2000);
const BATCHES = Number(process.env.SECTIONS_BATCHES ?? 7);
/** Only the variants whose name contains this (e.g. to profile one with `bun --cpu-prof-md`). */
const ONLY = process.env.SECTIONS_ONLY;

const env = {
  ...process.env,
  ENVIRONMENT: process.env.BENCH_APP_ENVIRONMENT || "production",
  // Production requires a Keycloak URL; the guest path never calls it (nothing listens there).
  KEYCLOAK_URL: process.env.KEYCLOAK_URL || "http://127.0.0.1:9",
  KEYCLOAK_CLIENT_SECRET: process.env.KEYCLOAK_CLIENT_SECRET || "bench-unused",
  APP_ENCRYPTION_KEY:
    process.env.APP_ENCRYPTION_KEY ||
    `bench:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`,
  LOG_LEVEL: "warn",
  GUEST_SESSION_REQUEST_LIMIT: "10000000",
  GUEST_IP_DAILY_SESSION_LIMIT: "10000000",
  UPSTASH_REDIS_REST_URL: "",
  UPSTASH_REDIS_REST_TOKEN: "",
};
const config = loadConfig(env);
const quiet = createLogger({ level: "warn", sink: () => {} });
const runtime = await bootstrap(config, quiet, { embeddedInMemory: !config.adminDatabaseUrl });

type Fetch = (request: Request) => Response | Promise<Response>;

interface Variant {
  name: string;
  fetch: Fetch;
  token?: string;
  deps?: Deps;
}

function appVariant(
  name: string,
  options: {
    logLevel?: LogLevel;
    cache?: Cache;
    stubGate?: boolean;
    /** The warm-read fast lane (ADR 0016): on by default, as in the app. */
    fastLane?: boolean;
  } = {},
): () => Promise<Variant> {
  return async () => {
    const level = options.logLevel ?? "warn";
    // Log lines are written and thrown away: the cost of building them is what is measured.
    const logger = createLogger({ level, sink: (line) => void line.length });
    const shared = createSharedDeps({ ...config, logLevel: level }, logger);
    const deps: Deps = {
      ...shared,
      ...(options.cache ? { cache: options.cache } : {}),
      db: runtime.deps.db,
      regional: runtime.deps.regional,
      waitUntil: (promise) => void promise.catch(() => {}),
    };
    if (options.cache) {
      // Sessions are stored in that cache too.
      deps.guestSessions = new GuestSessions({
        cache: options.cache,
        rateLimiter: new MemoryRateLimiter(),
        fallbackLimiter: new MemoryRateLimiter(),
        config: config.guest,
      });
    }
    const app = createApp({
      config: { ...config, logLevel: level },
      deps,
      socketAddress: () => "127.0.0.1",
      fastLane: options.fastLane ?? true,
    });
    const first = await app.fetch(new Request(URL_UNDER_TEST));
    await first.arrayBuffer();
    const token = first.headers.get("x-guest-session") ?? undefined;
    if (first.status !== 200 || !token) throw new Error(`${name}: first request ${first.status}`);
    if (options.stubGate) {
      // Admit from a constant: no token parsing, hashing, session lookup or rate limiting.
      const warm = await deps.guestSessions.admit({ token, ip: "127.0.0.1" });
      const fixed: GuestAccess = { ...warm, status: "active" };
      deps.guestSessions = { admit: async () => fixed } as unknown as GuestSessions;
    }
    return { name, fetch: (request) => app.fetch(request), token, deps };
  };
}

/**
 * What one warm request does, counted by wrapping globals for the duration of one request:
 * Response objects constructed (Hono re-creates the Response for every `c.header()` call made
 * after the handler returned), SHA-256 digests, JSON.parse calls and guest-gate admissions.
 */
async function countCalls(variant: Variant): Promise<Record<string, number>> {
  const counts = { responses: 0, digests: 0, jsonParses: 0, admits: 0 };
  const OriginalResponse = globalThis.Response;
  const originalParse = JSON.parse;
  const subtle = crypto.subtle;
  const originalDigest = subtle.digest;
  const sessions = variant.deps?.guestSessions;
  const originalAdmit = sessions?.admit;
  class CountingResponse extends OriginalResponse {
    constructor(...args: ConstructorParameters<typeof Response>) {
      super(...args);
      counts.responses += 1;
    }
  }
  globalThis.Response = CountingResponse as typeof Response;
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
    counts.jsonParses += 1;
    return originalParse(...args);
  }) as typeof JSON.parse;
  subtle.digest = ((...args: Parameters<SubtleCrypto["digest"]>) => {
    counts.digests += 1;
    return originalDigest.apply(subtle, args);
  }) as SubtleCrypto["digest"];
  if (sessions && originalAdmit) {
    sessions.admit = (input) => {
      counts.admits += 1;
      return originalAdmit.call(sessions, input);
    };
  }
  try {
    const headers = variant.token ? { "x-guest-session": variant.token } : undefined;
    const response = await variant.fetch(new Request(URL_UNDER_TEST, { headers }));
    await response.text();
  } finally {
    globalThis.Response = OriginalResponse;
    JSON.parse = originalParse;
    subtle.digest = originalDigest;
    if (sessions && originalAdmit) sessions.admit = originalAdmit;
  }
  return counts;
}

/**
 * The app rebuilt from its own parts, one middleware more at each step (same order as
 * src/app.ts), so the cost of each layer shows as the difference between two steps.
 */
function composedVariant(layers: number): () => Promise<Variant> {
  const names = ["requestContext", "securityHeaders", "cors", "bodyLimit"];
  const name =
    layers === 0
      ? "routes only (minimal context, no middleware)"
      : `routes + ${names.slice(0, layers).join(" + ")}`;
  return async () => {
    const deps: Deps = {
      ...createSharedDeps(config, quiet),
      db: runtime.deps.db,
      regional: runtime.deps.regional,
      waitUntil: (promise) => void promise.catch(() => {}),
    };
    const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
    if (layers === 0) {
      const minimal: MiddlewareHandler<AppEnv> = async (c, next) => {
        c.set("requestId", "00000000-0000-0000-0000-000000000000");
        c.set("deps", deps);
        c.set("clientIp", () => "127.0.0.1");
        c.set("log", quiet);
        await next();
      };
      app.use("*", minimal);
    } else app.use("*", requestContext({ deps, socketAddress: () => "127.0.0.1" }));
    if (layers >= 2) app.use("*", securityHeaders());
    if (layers >= 3) app.use("*", corsFor(config.corsOrigins));
    if (layers >= 4) app.use("*", bodyLimitOf(config.maxBodyBytes));
    app.route("/api/v1", referenceDataRoutes());
    app.onError(onError);
    const first = await app.fetch(new Request(URL_UNDER_TEST));
    await first.arrayBuffer();
    const token = first.headers.get("x-guest-session") ?? undefined;
    if (first.status !== 200 || !token) throw new Error(`${name}: first request ${first.status}`);
    return { name, fetch: (request) => app.fetch(request), token };
  };
}

async function plainVariant(name: string, body: string, headers: Record<string, string>) {
  if (name === "Response only") {
    return { name, fetch: () => new Response(body, { status: 200, headers }) };
  }
  const hono = new Hono();
  hono.get("/api/v1/currencies", (c) => c.body(body, 200, headers));
  return { name, fetch: (request: Request) => hono.fetch(request) };
}

/** CPU time (user + system, this process) per request: other load on the machine does not count. */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

async function timeBatch(variant: Variant): Promise<number> {
  const headers = variant.token ? { "x-guest-session": variant.token } : undefined;
  const started = cpuMicros();
  for (let i = 0; i < BATCH; i++) {
    const response = await variant.fetch(new Request(URL_UNDER_TEST, { headers }));
    await response.text();
    if (response.status !== 200) throw new Error(`${variant.name}: status ${response.status}`);
  }
  return (cpuMicros() - started) / BATCH;
}

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function micro(
  name: string,
  fn: () => unknown,
  iterations = 20_000,
): Promise<[string, number]> {
  for (let i = 0; i < 1000; i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < 5; b++) {
    const started = cpuMicros();
    for (let i = 0; i < iterations; i++) await fn();
    samples.push((cpuMicros() - started) / iterations);
  }
  return [name, median(samples)];
}

try {
  // A real warm response, for the bodies the non-app variants return.
  const probe = await appVariant("probe")();
  const sample = await probe.fetch(
    new Request(URL_UNDER_TEST, { headers: { "x-guest-session": probe.token ?? "" } }),
  );
  const body = await sample.text();
  const headers = Object.fromEntries(
    [...sample.headers].filter(([k]) => !["content-length", "date"].includes(k)),
  );

  const all: Variant[] = [
    await plainVariant("Response only", body, headers),
    await plainVariant("plain Hono route", body, headers),
    await composedVariant(0)(),
    await composedVariant(1)(),
    await composedVariant(2)(),
    await composedVariant(3)(),
    await composedVariant(4)(),
    await appVariant("app (LOG_LEVEL=warn)")(),
    await appVariant("app (LOG_LEVEL=info, sink discards)", { logLevel: "info" })(),
    await appVariant("app, guest gate stubbed", { stubGate: true })(),
    await appVariant("app, fast lane off (LOG_LEVEL=warn)", { fastLane: false })(),
    await appVariant("app, fast lane off (LOG_LEVEL=info, sink discards)", {
      logLevel: "info",
      fastLane: false,
    })(),
    await appVariant("app, fast lane off, guest gate stubbed", {
      stubGate: true,
      fastLane: false,
    })(),
  ];
  const variants = ONLY ? all.filter((v) => v.name.includes(ONLY)) : all;
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (const variant of variants) await timeBatch(variant); // warm-up (JIT)
  for (let b = 0; b < BATCHES; b++) {
    for (const variant of variants) samples.get(variant.name)?.push(await timeBatch(variant));
  }

  // Pieces every warm request runs (see src/core/auth/guest-sessions.ts, service.ts, …).
  const cache = new MemoryCache();
  const listJson = body.slice(body.indexOf('"data":') + 7, body.lastIndexOf(',"message"'));
  await cache.set("ref:bench" as CacheKey, { json: listJson, etag: 'W/"x"' }, { ttlSeconds: 60 });
  await cache.set(
    "guest:bench" as CacheKey,
    { id: "x".repeat(32), secret_hash: "y".repeat(64), ip: "127.0.0.1", user_agent: null },
    { ttlSeconds: 60 },
  );
  const secret = "s".repeat(43);
  const local = new LocalCache<{ json: string; etag: string }>({ maxEntries: 10 });
  local.set("ref:bench", { json: listJson, etag: 'W/"x"' }, 60);
  const logger = createLogger({ level: "warn", sink: () => {} });
  const query = { page: "1", page_size: "20" };
  const pieces = ONLY
    ? []
    : [
        await micro("sha256HexSync(43-char secret) (the session check)", () =>
          sha256HexSync(secret),
        ),
        await micro("  (was: sha256Hex through crypto.subtle + toHex)", () => sha256Hex(secret)),
        await micro("LocalCache.get of the cached page (the warm read)", () =>
          local.get("ref:bench"),
        ),
        await micro("  (behind it: MemoryCache.get with JSON.parse)", () =>
          cache.get("ref:bench" as CacheKey),
        ),
        await micro("CurrencyListQuery.safeParseAsync (once per query string)", () =>
          CurrencyListQuery.safeParseAsync(query),
        ),
        await micro("logger.child({ request_id })", () => logger.child({ request_id: secret })),
        await micro("one new Response with the app's headers", () => {
          return new Response(body, { status: 200, headers });
        }),
        await micro("crypto.randomUUID()", () => crypto.randomUUID()),
        await micro("new Date().toISOString()", () => new Date().toISOString()),
      ];

  const appVariantUnderTest = all.find((v) => v.name === "app (LOG_LEVEL=warn)");
  const calls = appVariantUnderTest && !ONLY ? await countCalls(appVariantUnderTest) : undefined;

  const rows = variants.map((v) => [v.name, median(samples.get(v.name) ?? [])] as const);
  const app = rows.find(([n]) => n === "app (LOG_LEVEL=warn)")?.[1] ?? Number.NaN;
  const width = Math.max(...rows.map(([n]) => n.length), ...pieces.map(([n]) => n.length));
  console.log(
    `\nIn-process app.fetch, ${BATCHES} batches × ${BATCH} sequential requests (median CPU µs/request):\n`,
  );
  let previous = Number.NaN;
  for (const [name, us] of rows) {
    const delta = name.startsWith("app") && name !== "app (LOG_LEVEL=warn)" ? us - app : Number.NaN;
    const step = name.startsWith("routes +") ? us - previous : Number.NaN;
    previous = us;
    console.log(
      `  ${name.padEnd(width)}  ${us.toFixed(1).padStart(7)} µs${Number.isFinite(delta) ? `  (${signed(delta)} vs app)` : ""}${Number.isFinite(step) ? `  (${signed(step)} vs previous step)` : ""}`,
    );
  }
  if (calls) {
    console.log(
      `\nOne warm request of the app: ${calls.responses} Response objects constructed, ` +
        `${calls.digests} crypto.subtle digests, ${calls.jsonParses} JSON.parse calls, ` +
        `${calls.admits} guest-gate admissions.`,
    );
  }
  if (pieces.length) console.log("\nPieces (median CPU µs per call):\n");
  for (const [name, us] of pieces)
    console.log(`  ${name.padEnd(width)}  ${us.toFixed(2).padStart(7)} µs`);
  console.log("");
} finally {
  await runtime.close();
}
