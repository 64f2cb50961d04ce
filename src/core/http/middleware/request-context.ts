import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Deps } from "../../deps";
import { redactUrlSearch } from "../../log/redact";
import { clientIpOf, type SocketAddress } from "../client-ip";

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * First middleware of the app: request id, dependencies, client IP, timing header and the one
 * structured log line per request. It runs around everything else, error handling included.
 */
export function requestContext(options: {
  deps: Deps | ((c: Context<AppEnv>) => Deps);
  socketAddress: SocketAddress;
}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const deps = typeof options.deps === "function" ? options.deps(c) : options.deps;
    const clientIp = clientIpOf(c, options.socketAddress, deps.config.trustedProxyCount);
    const log = deps.logger.child({ request_id: requestId });
    c.set("requestId", requestId);
    c.set("deps", deps);
    c.set("clientIp", clientIp);
    c.set("log", log);
    // Before the handler: a header set on a finished response costs a copy of the Response.
    c.header("X-Request-ID", requestId);

    await next();

    const elapsed = performance.now() - started;
    c.res.headers.set("X-Request-ID", requestId);
    c.res.headers.set("X-Process-Time", `${elapsed.toFixed(2)}ms`);
    const status = c.res.status;
    const level = status >= 500 ? "error" : "info";
    // Building the line (URL parsing, redaction) is skipped when nobody would read it.
    if (!deps.logger.enabled(level)) return;
    const url = c.req.url;
    const queryAt = url.indexOf("?");
    log[level]("request", {
      method: c.req.method,
      path: c.req.path,
      query: queryAt >= 0 ? redactUrlSearch(url.slice(queryAt)) : undefined,
      status,
      duration_ms: Math.round(elapsed * 100) / 100,
      ip: clientIp,
      user_agent: c.req.header("user-agent"),
    });
  };
}
