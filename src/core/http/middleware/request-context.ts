import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Deps } from "../../deps";
import type { Logger, LogLevel } from "../../log/logger";
import { redactUrlSearch } from "../../log/redact";
import { clientIpOf, type SocketAddress } from "../client-ip";
import { takeHandoff } from "../lane-handoff";

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id: a valid incoming `X-Request-ID` is kept, anything else gets a new UUID. */
export function requestIdOf(incoming: string | null | undefined): string {
  return incoming != null && VALID_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** `X-Process-Time`: milliseconds, two decimals. */
export function processTime(elapsedMs: number): string {
  return `${elapsedMs.toFixed(2)}ms`;
}

/**
 * A value resolved on first use and then kept. The client address is one: on Bun the peer
 * address is a `getpeername` system call per request (about 4 µs under load), and most requests
 * never need it: a warm guest read at `warn` does not.
 */
function lazy(resolve: () => string): () => string {
  let value: string | undefined;
  return () => {
    value ??= resolve();
    return value;
  };
}

/** The level of a request's log line, or undefined when nobody would read it. */
export function requestLogLevel(logger: Logger, status: number): LogLevel | undefined {
  const level = status >= 500 ? "error" : "info";
  return logger.enabled(level) ? level : undefined;
}

/** The one structured log line per request (written by requestContext and the fast lane). */
export function logRequest(
  log: Logger,
  level: LogLevel,
  request: {
    method: string;
    path: string;
    url: string;
    status: number;
    elapsedMs: number;
    ip: string;
    userAgent: string | undefined;
  },
): void {
  const { url } = request;
  const queryAt = url.indexOf("?");
  log[level]("request", {
    method: request.method,
    path: request.path,
    query: queryAt >= 0 ? redactUrlSearch(url.slice(queryAt)) : undefined,
    status: request.status,
    duration_ms: Math.round(request.elapsedMs * 100) / 100,
    ip: request.ip,
    user_agent: request.userAgent,
  });
}

/**
 * First middleware of the app: request id, dependencies, client IP, timing header and the one
 * structured log line per request. It runs around everything else, error handling included.
 */
export function requestContext(options: {
  deps: Deps | ((c: Context<AppEnv>) => Deps);
  socketAddress: SocketAddress;
}): MiddlewareHandler<AppEnv> {
  const { deps: depsOption, socketAddress } = options;
  return async (c, next) => {
    // A request the fast lane started and handed over: its clock started there, and its guest
    // admission is already made (the guest gate uses it instead of admitting again).
    const handoff = takeHandoff(c.req.raw);
    if (handoff !== undefined) c.set("laneAdmission", handoff.admission);
    const started = handoff?.started ?? performance.now();
    const requestId = requestIdOf(c.req.header("x-request-id"));
    const deps = typeof depsOption === "function" ? depsOption(c) : depsOption;
    const clientIp = lazy(() => clientIpOf(c, socketAddress, deps.config.trustedProxyCount));
    c.set("clientIp", clientIp);
    // A child logger is one small object; its fields are merged only if it writes a line.
    const log = deps.logger.child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("deps", deps);
    c.set("log", log);

    await next();

    const elapsed = performance.now() - started;
    // Set on the finished response (in place, no copy), so every path carries them, a Response
    // returned as it is included.
    const headers = c.res.headers;
    headers.set("X-Request-ID", requestId);
    headers.set("X-Process-Time", processTime(elapsed));
    const status = c.res.status;
    // Building the line (URL parsing, redaction) is skipped when nobody would read it.
    const level = requestLogLevel(deps.logger, status);
    if (level === undefined) return;
    logRequest(log, level, {
      method: c.req.method,
      path: c.req.path,
      url: c.req.url,
      status,
      elapsedMs: elapsed,
      ip: clientIp(),
      userAgent: c.req.header("user-agent"),
    });
  };
}
