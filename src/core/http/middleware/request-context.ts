import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Deps } from "../../deps";
import { redactUrlSearch } from "../../log/redact";
import { clientIpOf, type SocketAddress } from "../client-ip";

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The client address, resolved on first use and then kept. On Bun the peer address is a
 * `getpeername` system call per request (about 4 µs under load), and most requests never need
 * it: a warm guest read at `warn` does not.
 */
function lazy(resolve: () => string): () => string {
  let value: string | undefined;
  return () => {
    value ??= resolve();
    return value;
  };
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
    const started = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId =
      incoming !== undefined && VALID_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
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
    headers.set("X-Process-Time", `${elapsed.toFixed(2)}ms`);
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
      ip: clientIp(),
      user_agent: c.req.header("user-agent"),
    });
  };
}
