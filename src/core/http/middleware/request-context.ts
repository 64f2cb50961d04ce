import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv, Deps } from "../../deps";
import { redactUrlSearch } from "../../log/redact";
import { clientIpOf, type SocketAddress } from "../client-ip";

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

type VarGetter = (this: Context<AppEnv>) => AppEnv["Variables"];
let honoVarGetter: VarGetter | undefined;

/**
 * Makes `clientIp` a variable resolved on first read (`c.get`, `c.var`), then kept. On Bun the
 * peer address is a `getpeername` system call per request (≈4 µs under load), and most requests
 * never read it: a warm guest read at `warn` does not. The value is the one an eager read at the
 * start of the request would have given.
 */
function deferClientIp(c: Context<AppEnv>, resolve: () => string): () => string {
  let ip: string | undefined;
  const ensure = (): string => {
    if (ip === undefined) {
      ip = resolve();
      c.set("clientIp", ip);
    }
    return ip;
  };
  const get = c.get;
  c.get = ((key: keyof AppEnv["Variables"]) => {
    if (key === "clientIp") return ensure();
    return get(key);
  }) as typeof c.get;
  // Hono's `c.var` reads its variable map directly, so it gets the same treatment.
  honoVarGetter ??= Object.getOwnPropertyDescriptor(Object.getPrototypeOf(c), "var")?.get as
    | VarGetter
    | undefined;
  const varGetter = honoVarGetter;
  if (varGetter) {
    Object.defineProperty(c, "var", {
      configurable: true,
      get() {
        ensure();
        return varGetter.call(c);
      },
    });
  } else ensure();
  return ensure;
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
    const clientIp = deferClientIp(c, () =>
      clientIpOf(c, socketAddress, deps.config.trustedProxyCount),
    );
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
