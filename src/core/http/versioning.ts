import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { ifNoneMatchHits } from "./cached-response";
import { respond } from "./envelope";
import { ApiError } from "./errors";
import { jsonEnvelope } from "./openapi";

/**
 * Optimistic concurrency for single resources. Versioned tables carry a `version` column that a
 * trigger bumps on every update; the resource's `ETag` is that version (strong, quoted), and
 * writes name the version they change with `If-Match`:
 *
 * - GET answers `ETag: "<version>"`, and `If-None-Match` with the current tag answers 304;
 * - PUT/PATCH/DELETE without `If-Match` is 428; with a tag that is no longer current, 412;
 * - `If-Match: *` means "whatever is current" (RFC 9110) for clients that accept lost updates.
 *
 * The version check happens in the UPDATE's WHERE clause, so two concurrent writers with the
 * same tag cannot both win.
 */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/** What `If-Match` allows: any version (`*`), or the listed ones. */
export type ExpectedVersions = "any" | readonly number[];

const ENTITY_TAG = /^(W\/)?"([^"]*)"$/;

function parseTags(header: string): { any: boolean; strong: string[] } {
  const strong: string[] = [];
  let any = false;
  for (const raw of header.split(",")) {
    const tag = raw.trim();
    if (tag === "*") any = true;
    const match = ENTITY_TAG.exec(tag);
    // If-Match uses the strong comparison: weak tags never match (RFC 9110 13.1.1).
    if (match && !match[1] && match[2] !== undefined) strong.push(match[2]);
  }
  return { any, strong };
}

/** Reads `If-Match` for a write: 428 when it is missing. */
export function expectedVersions(c: Context): ExpectedVersions {
  const header = c.req.header("if-match");
  if (!header?.trim()) {
    throw new ApiError(
      "PRECONDITION_REQUIRED",
      "This write requires If-Match with the resource's current ETag (read it with GET)",
      {
        details: [
          {
            code: "PRECONDITION_REQUIRED",
            message: "Missing",
            field: "If-Match",
            location: "header",
          },
        ],
      },
    );
  }
  const { any, strong } = parseTags(header);
  if (any) return "any";
  return strong.map(Number).filter((n) => Number.isSafeInteger(n) && n > 0);
}

export function versionMatches(expected: ExpectedVersions, version: number): boolean {
  return expected === "any" || expected.includes(version);
}

/** Throws the 412 (with the current `ETag`) when `If-Match` does not name the current version. */
export function assertVersion(expected: ExpectedVersions, current: number): void {
  if (!versionMatches(expected, current)) throw preconditionFailed(current);
}

export function preconditionFailed(current: number): ApiError {
  return new ApiError(
    "PRECONDITION_FAILED",
    "The resource changed since it was read: If-Match does not name its current version",
    { headers: { ETag: etagOf(current) } },
  );
}

/** `If-Match` documented on writes (the 428 is enforced in code, not by validation). */
export const IfMatchHeader = z.object({
  "If-Match": z
    .string()
    .optional()
    .openapi({
      param: { name: "If-Match", in: "header", required: true },
      description:
        'Required: the `ETag` from the last read (e.g. `"3"`), or `*`. Missing: 428; no longer current: 412.',
      example: '"3"',
    }),
});

/** The `ETag` response header, for route definitions. */
export const etagResponseHeader = {
  ETag: {
    description: "The resource's version; send it back as `If-Match` to change it.",
    schema: { type: "string" as const, example: '"3"' },
  },
};

/** A JSON answer carrying a versioned resource, with its `ETag`, for route definitions. */
export function versionedEnvelope<T extends z.ZodTypeAny>(schema: T, description: string) {
  return { ...jsonEnvelope(schema, description), headers: etagResponseHeader };
}

/** The headers of every answer that carries a versioned resource (reads and writes). */
export function setEtag(c: Context, version: number): void {
  c.header("ETag", etagOf(version));
  c.header("Cache-Control", "private, no-cache");
}

/**
 * Answers a read of a versioned resource: `ETag` set, and for GET a 304 when the client's copy is
 * current. `Cache-Control: private, no-cache`: admin data may be kept by the caller's own client
 * but must be revalidated, and never by shared caches.
 */
export function respondVersioned<T extends { version: number }>(
  c: Context,
  data: T,
  options: { message?: string | null } = {},
): Response {
  setEtag(c, data.version);
  if (
    c.req.method === "GET" &&
    ifNoneMatchHits(c.req.header("if-none-match"), etagOf(data.version))
  ) {
    return c.body(null, 304);
  }
  return respond(c, data, options);
}
