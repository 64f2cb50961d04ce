import { Context, type ExecutionContext, type Hono } from "hono";
import type { Config } from "../../config";
import { isPlainActive, presentedToken } from "../auth/guest-gate";
import {
  type GuestAccess,
  type GuestSessionStatus,
  looksLikeGuestToken,
  rateLimitHeaders,
} from "../auth/guest-sessions";
import { platformBearer } from "../auth/reader-gate";
import type { CachedJson } from "../cache/read-through";
import type { AppEnv, Deps } from "../deps";
import {
  CACHE_CONTROL,
  CONTENT_TYPE,
  envelopeHead,
  envelopeTail,
  ifNoneMatchHits,
} from "./cached-response";
import { clientIpOf, type SocketAddress } from "./client-ip";
import { handOver, type LaneHandoff } from "./lane-handoff";
import {
  logRequest,
  processTime,
  requestIdOf,
  requestLogLevel,
} from "./middleware/request-context";
import { API_CSP, SECURITY_HEADERS } from "./middleware/security";

/**
 * A feature's part of the fast lane: the cached body the slow path would answer this GET with,
 * as a 200 (or a 304 to a matching `If-None-Match`), or undefined when the request is not one it
 * can answer from what is already cached in process. Synchronous and free of side effects: it
 * runs before anything is counted.
 *
 * `path` is the path as Hono routes it (`app.getPath`), `url` the full request URL.
 */
export type WarmRead = (path: string, url: string, deps: Deps) => CachedJson | undefined;

type Fetch = Hono<AppEnv>["fetch"];

/** A request the lane may answer, and what it found out deciding so. */
interface WarmRequest {
  request: Request;
  env: Parameters<Fetch>[1];
  executionCtx: ExecutionContext | undefined;
  /** The guest token presented. */
  token: string;
  /** As Hono routes it. */
  path: string;
  url: string;
  deps: Deps;
  /** What the slow path would answer with. */
  cached: CachedJson;
  /** A Hono context for the runtime's hooks that take one, made when first needed. */
  context: Context<AppEnv> | undefined;
  /** The client's address, resolved when first needed. */
  ip: string | undefined;
}

function contextOf(warm: WarmRequest): Context<AppEnv> {
  warm.context ??= new Context<AppEnv>(warm.request, {
    env: warm.env,
    executionCtx: warm.executionCtx,
    path: warm.path,
  });
  return warm.context;
}

export interface FastLaneOptions {
  /** Off: `app.fetch` as it is (tests compare both paths). Default on. */
  enabled?: boolean;
  config: Config;
  deps: Deps | ((c: Context<AppEnv>) => Deps);
  socketAddress: SocketAddress;
  reads: readonly WarmRead[];
}

/**
 * The headers of a lane answer that are the same on every one: copied into each response, which
 * costs a fraction of building them from a record (Bun parses and validates every entry).
 */
function fixedHeaders(withBody: boolean): Headers {
  const headers = new Headers(SECURITY_HEADERS);
  headers.set("Content-Security-Policy", API_CSP);
  // The lane answers only the plain "active" admission (isPlainActive).
  headers.set("X-Guest-Session-Status", "active" satisfies GuestSessionStatus);
  headers.set("Cache-Control", CACHE_CONTROL);
  if (withBody) headers.set("Content-Type", CONTENT_TYPE);
  return headers;
}

/**
 * What is prepared once per cached body: its headers (the fixed ones, its ETag, and the
 * rate-limit headers, `values`, as the last answer set them) and the UTF-8 bytes of the envelope
 * up to its metadata. Each answer brings the headers up to date (only what changed) and the
 * Response copies them when it is constructed (Fetch: a Response fills its own Headers from
 * `init.headers`), so the next answer may change them again.
 */
interface Prepared {
  headers: Headers;
  values: Record<string, string>;
  head: Uint8Array;
}

const encoder = new TextEncoder();

function prepare(fixed: Headers, cached: CachedJson, limits: Record<string, string>): Prepared {
  const headers = new Headers(fixed);
  headers.set("ETag", cached.etag);
  for (const name in limits) headers.set(name, limits[name] as string);
  return { headers, values: { ...limits }, head: encoder.encode(envelopeHead(cached.json)) };
}

type ConcatBytes = (parts: Uint8Array[]) => ArrayBuffer | Uint8Array<ArrayBuffer>;

/**
 * The body: the prepared bytes and this answer's tail, the same bytes the runtime would send for
 * the envelope string. Joining bytes costs less than a new 10 KB string (the data is not Latin-1,
 * so the string is UTF-16) that the runtime then encodes: Bun joins them natively.
 */
const concatBytes: ConcatBytes =
  (globalThis as { Bun?: { concatArrayBuffers?: ConcatBytes } }).Bun?.concatArrayBuffers ??
  ((parts) => {
    let length = 0;
    for (const part of parts) length += part.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  });

/**
 * The warm-read fast lane (ADR 0016): answers the one common request of the public API, a guest
 * session reading reference data that is already cached in process, before Hono's middleware
 * chain, doing what that chain does for it (request id, guest admission, envelope, security and
 * cache headers, timing, the request log line) with the same functions. Everything else, and
 * every admission outcome other than the plain warm "active" one, goes to `app.fetch`: then the
 * admission already made is handed over (./lane-handoff.ts), so no request is counted twice.
 */
export function withFastLane(
  app: Pick<Hono<AppEnv>, "fetch" | "getPath">,
  options: FastLaneOptions,
): Fetch {
  const slow = app.fetch;
  // With CORS configured every response depends on the request's Origin: the slow path answers.
  if (options.enabled === false || options.config.corsOrigins.length > 0) return slow;
  const { deps: depsOption, socketAddress, reads } = options;
  const ok = fixedHeaders(true);
  const notModified = fixedHeaders(false);
  // Per cached body (entries go with the bodies they were prepared for).
  const preparedOk = new WeakMap<CachedJson, Prepared>();
  const preparedNotModified = new WeakMap<CachedJson, Prepared>();

  /** The request, if the lane may take it: checked with no side effect (nothing counted yet). */
  function eligible(
    request: Request,
    env: Parameters<Fetch>[1],
    executionCtx: ExecutionContext | undefined,
  ): WarmRequest | undefined {
    // A bodiless GET presenting a guest token, and no bearer that could be a platform access
    // token (the reader gate would verify it).
    if (request.method !== "GET" || request.body !== null) return undefined;
    const headers = request.headers;
    const authorization = headers.get("authorization") ?? undefined;
    const token = presentedToken(headers.get("x-guest-session"), authorization);
    if (token === undefined || !looksLikeGuestToken(token)) return undefined;
    if (platformBearer(authorization) !== undefined) return undefined;
    const path = app.getPath(request, { env });
    // Workers' dependencies come from a hook that takes a Hono context.
    let context: Context<AppEnv> | undefined;
    let deps: Deps;
    if (typeof depsOption === "function") {
      context = new Context<AppEnv>(request, { env, executionCtx, path });
      deps = depsOption(context);
    } else deps = depsOption;
    const url = request.url;
    for (const read of reads) {
      const cached = read(path, url, deps);
      if (cached !== undefined) {
        return {
          request,
          env,
          executionCtx,
          token,
          path,
          url,
          deps,
          cached,
          context,
          ip: undefined,
        };
      }
    }
    return undefined;
  }

  /** Read only if a session is created or the degraded limiter answers, or for the log line. */
  function clientIp(warm: WarmRequest): string {
    warm.ip ??= clientIpOf(contextOf(warm), socketAddress, warm.deps.config.trustedProxyCount);
    return warm.ip;
  }

  /**
   * The admission `guestSessions.admit` makes, awaited: taken when the synchronous one
   * (`admitHeld`) cannot decide, i.e. a session this process does not hold yet, or a limiter that
   * counts elsewhere (Upstash).
   */
  async function admitThenAnswer(warm: WarmRequest, started: number): Promise<Response> {
    let access: GuestAccess;
    try {
      access = await warm.deps.guestSessions.admit({
        token: warm.token,
        ip: () => clientIp(warm),
        userAgent: warm.request.headers.get("user-agent") ?? undefined,
      });
    } catch (error) {
      return handOverAdmission(warm, started, { error });
    }
    return answer(warm, access, started);
  }

  /** The slow path answers, with the admission already made: no request is counted twice. */
  function handOverAdmission(
    warm: WarmRequest,
    started: number,
    admission: LaneHandoff["admission"],
  ): Promise<Response> | Response {
    handOver(warm.request, { started, admission });
    return slow(warm.request, warm.env, warm.executionCtx);
  }

  /** The answer to an admitted request: the lane's own for a plain warm one, else the slow path's. */
  function answer(
    warm: WarmRequest,
    access: GuestAccess,
    started: number,
  ): Response | Promise<Response> {
    let answered: ReturnType<typeof respond> | undefined;
    if (isPlainActive(access)) {
      try {
        answered = respond(warm, access, started);
      } catch {
        // Fails again on the slow path, which answers it (onError) and logs it.
        answered = undefined;
      }
    }
    // Any other outcome (created, rejected, degraded): the slow path answers with this
    // admission, as it would have had it made it itself.
    if (answered === undefined) return handOverAdmission(warm, started, { access });
    const { response, requestId, elapsed } = answered;
    const { request, deps } = warm;
    try {
      const level = requestLogLevel(deps.logger, response.status);
      if (level !== undefined) {
        logRequest(deps.logger.child({ request_id: requestId }), level, {
          method: request.method,
          path: warm.path,
          url: warm.url,
          status: response.status,
          elapsedMs: elapsed,
          ip: clientIp(warm),
          userAgent: request.headers.get("user-agent") ?? undefined,
        });
      }
    } catch {
      // The answer is built and counted: a failure to log it (the client address, the log
      // sink) must not turn it into an error the runtime answers outside the envelope.
    }
    return response;
  }

  /** The lane's own answer to a plain warm admission: the envelope (200), or 304. */
  function respond(warm: WarmRequest, access: GuestAccess, started: number) {
    const { request, cached } = warm;
    const headers = request.headers;
    const requestId = requestIdOf(headers.get("x-request-id"));
    const limits = rateLimitHeaders(access.rule, access.rateLimit, Date.now());
    const is304 = ifNoneMatchHits(headers.get("if-none-match") ?? undefined, cached.etag);
    const preparedFor = is304 ? preparedNotModified : preparedOk;
    let prepared = preparedFor.get(cached);
    if (prepared === undefined) {
      prepared = prepare(is304 ? notModified : ok, cached, limits);
      preparedFor.set(cached, prepared);
    }
    // This answer's headers: the prepared ones brought up to date, copied by the Response.
    const out = prepared.headers;
    const values = prepared.values;
    for (const name in limits) {
      const value = limits[name] as string;
      if (value !== values[name]) {
        out.set(name, value);
        values[name] = value;
      }
    }
    out.set("X-Request-ID", requestId);
    const body = is304
      ? null
      : concatBytes([prepared.head, encoder.encode(envelopeTail(requestId))]);
    const elapsed = performance.now() - started;
    out.set("X-Process-Time", processTime(elapsed));
    const response = new Response(body, { status: is304 ? 304 : 200, headers: out });
    return { response, requestId, elapsed };
  }

  const lane: Fetch = (request, env, executionCtx) => {
    let warm: WarmRequest | undefined;
    try {
      warm = eligible(request, env, executionCtx);
    } catch {
      // Whatever failed fails again on the slow path, which answers it (onError) and logs it.
      warm = undefined;
    }
    if (warm === undefined) return slow(request, env, executionCtx);
    const started = performance.now();
    // A warm session held in this process, counted in this process: answered synchronously
    // (Bun.serve sends a Response it gets back directly; a promise costs it ≈ 1 µs more).
    let access: GuestAccess | undefined;
    try {
      access = warm.deps.guestSessions.admitHeld(warm.token);
    } catch (error) {
      return handOverAdmission(warm, started, { error });
    }
    return access === undefined ? admitThenAnswer(warm, started) : answer(warm, access, started);
  };
  return lane;
}
