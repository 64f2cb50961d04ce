import type { Context } from "hono";
import type { CachedJson } from "../cache/read-through";
import type { AppEnv } from "../deps";
import { isoNow } from "../time/iso-now";

/** Browsers and clients may reuse a reference-data response this long, then revalidate by ETag. */
export const CACHE_CONTROL = "private, max-age=300, must-revalidate";
export const CONTENT_TYPE = "application/json; charset=UTF-8";

/** `If-None-Match` against an entity tag, with the weak comparison RFC 9110 asks for. */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === bare);
}

/** The envelope up to its metadata: the same for every answer with this cached body. */
export function envelopeHead(json: string): string {
  return `{"success":true,"data":${json},"message":null,"errors":null,"metadata":`;
}

/**
 * The rest of the envelope: this answer's metadata, as JSON.stringify of `{ timestamp,
 * request_id, new_session_token? }` writes it (the ISO timestamp needs no escaping, the two
 * strings are serialised each), and the closing brace.
 */
export function envelopeTail(requestId: string, newSessionToken?: string): string {
  const token = newSessionToken ? `,"new_session_token":${JSON.stringify(newSessionToken)}` : "";
  return `{"timestamp":"${isoNow()}","request_id":${JSON.stringify(requestId)}${token}}}`;
}

/**
 * The success envelope around a cached body: the cached JSON spliced in as `data` (no
 * re-serialisation on the hot path).
 */
export function cachedEnvelope(json: string, requestId: string, newSessionToken?: string): string {
  return envelopeHead(json) + envelopeTail(requestId, newSessionToken);
}

/**
 * Answers with a cached body: 304 when `If-None-Match` matches, else the envelope with the
 * cached JSON spliced in as `data`.
 */
export function cachedJsonResponse(c: Context<AppEnv>, cached: CachedJson): Response {
  c.header("ETag", cached.etag);
  c.header("Cache-Control", CACHE_CONTROL);
  if (ifNoneMatchHits(c.req.header("if-none-match"), cached.etag)) return c.body(null, 304);
  const body = cachedEnvelope(cached.json, c.get("requestId"), c.get("guest")?.newSessionToken);
  c.header("Content-Type", CONTENT_TYPE);
  return c.body(body, 200);
}
