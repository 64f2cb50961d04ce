import type { Context } from "hono";
import type { CachedJson } from "../cache/read-through";
import type { AppEnv } from "../deps";

/** Browsers and clients may reuse a reference-data response this long, then revalidate by ETag. */
const CACHE_CONTROL = "private, max-age=300, must-revalidate";

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === bare);
}

/**
 * Answers with a cached body: 304 when `If-None-Match` matches, else the envelope with the
 * cached JSON spliced in as `data` (no re-serialisation on the hot path).
 */
export function cachedJsonResponse(c: Context<AppEnv>, cached: CachedJson): Response {
  const headers: Record<string, string> = { ETag: cached.etag, "Cache-Control": CACHE_CONTROL };
  if (matches(c.req.header("if-none-match"), cached.etag)) {
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    return c.body(null, 304);
  }
  const metadata: Record<string, string> = {
    timestamp: new Date().toISOString(),
    request_id: c.var.requestId,
  };
  const token = c.var.guest?.newSessionToken;
  if (token) metadata.new_session_token = token;
  const body = `{"success":true,"data":${cached.json},"message":null,"errors":null,"metadata":${JSON.stringify(metadata)}}`;
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  c.header("Content-Type", "application/json; charset=UTF-8");
  return c.body(body, 200);
}
