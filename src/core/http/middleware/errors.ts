import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../../deps";
import { errorBody } from "../envelope";
import { ApiError } from "../errors";

/** Turns anything thrown into the envelope. A 500 says nothing internal; the log says all. */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ApiError) {
    for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
    return c.json(errorBody(c, error.message, error.details), error.status);
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code = error.status === 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST";
    const message =
      error.status === 413 ? "Request body too large" : error.message || "Bad request";
    return c.json(errorBody(c, message, [{ code, message }]), error.status);
  }
  c.get("log")?.error("unhandled error", { error });
  const message = "Internal server error";
  return c.json(errorBody(c, message, [{ code: "INTERNAL_ERROR", message }]), 500);
};

type RoutePattern = { method: string; pattern: RegExp };

/**
 * Unmatched requests: 405 with `Allow` when the path exists under another method, else 404.
 * Hono itself answers 404 for both, which tells a client the wrong thing.
 */
export function notFoundHandler(
  routes: () => { method: string; path: string }[],
): NotFoundHandler<AppEnv> {
  let patterns: RoutePattern[] | undefined;
  return (c: Context<AppEnv>) => {
    patterns ??= routes()
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method, pattern: toRegExp(r.path) }));
    const path = new URL(c.req.url).pathname;
    const allowed = [...new Set(patterns.filter((p) => p.pattern.test(path)).map((p) => p.method))];
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      c.header("Allow", allowed.join(", "));
      const message = `Method ${c.req.method} not allowed on ${path}`;
      return c.json(errorBody(c, message, [{ code: "METHOD_NOT_ALLOWED", message }]), 405);
    }
    const message = `No route for ${c.req.method} ${path}`;
    return c.json(errorBody(c, message, [{ code: "NOT_FOUND", message }]), 404);
  };
}

function toRegExp(path: string): RegExp {
  const source = path
    .split("/")
    .map((part) =>
      part.startsWith(":")
        ? "[^/]+"
        : part === "*"
          ? ".*"
          : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${source}/?$`);
}
