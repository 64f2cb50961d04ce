import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** An OAuth error body exactly as Keycloak writes it. */
export function oauthError(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): Response {
  return c.json({ error, error_description: description }, status, headers);
}

/** RFC 6749 section 5.1: token responses must not be cached. Keycloak sends both headers. */
export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/**
 * The form of an `application/x-www-form-urlencoded` request. Any other body reads as an empty
 * form, so that the missing-parameter errors answer it, as they do in Keycloak.
 */
export async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    return new URLSearchParams();
  }
  return new URLSearchParams(await c.req.text());
}

/** Keycloak refuses a parameter sent twice (it could be read differently by two components). */
export function hasDuplicatedParameter(form: URLSearchParams): boolean {
  const seen = new Set<string>();
  for (const key of form.keys()) {
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

/** The token of an `Authorization: Bearer` header (scheme case-insensitive). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

/** HTML-escapes text put into the small pages the IdP serves. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
