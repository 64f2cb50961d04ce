import type { z } from "zod";
import {
  KeycloakError,
  KeycloakInvalidNameError,
  KeycloakMalformedResponseError,
  KeycloakUnavailableError,
  safeDescription,
} from "./errors";
import { isValidRealmName, isValidResourceId } from "./realm-name";

/**
 * The part of `fetch` the client uses. Narrower than `typeof fetch` (Bun's carries extras such
 * as `preconnect`), so that a test can pass `(url, init) => idp.app.request(url, init)`.
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response> | Response;

export interface Transport {
  /** Keycloak's base URL without a trailing slash, e.g. `https://id.example.com`. */
  baseUrl: string;
  fetch: FetchLike;
  timeoutMs: number;
}

/** An answer read completely: status, headers and body text. */
export interface Exchange {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One request, with the body read inside the same deadline: a Keycloak that sends headers and
 * then stalls must not hold a request of ours longer than `timeoutMs`. Network failures and
 * timeouts become `KeycloakUnavailableError`; the request's content never reaches an error.
 */
export async function exchange(
  transport: Transport,
  operation: string,
  path: string,
  init: RequestInit,
): Promise<Exchange> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new KeycloakUnavailableError(
          0,
          "timeout",
          `no answer within ${transport.timeoutMs} ms`,
          operation,
        ),
      );
    }, transport.timeoutMs);
  });
  const attempt = (async () => {
    const response = await transport.fetch(`${transport.baseUrl}${path}`, {
      ...init,
      signal: controller.signal,
      // A redirect from Keycloak's API would be a misconfiguration; never follow it with our
      // form (which may hold a password) to wherever it points.
      redirect: "manual",
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } catch (error) {
    if (error instanceof KeycloakError) throw error;
    throw new KeycloakUnavailableError(
      0,
      "unavailable",
      "Keycloak could not be reached",
      operation,
      {
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
    // The losing promise must not surface as an unhandled rejection.
    attempt.catch(() => {});
    deadline.catch(() => {});
  }
}

const STATUS_CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  415: "unsupported_media_type",
  429: "too_many_requests",
};

/** An OAuth error code (`invalid_grant`), as opposed to a sentence in the `error` field. */
const OAUTH_ERROR_CODE = /^[a-z][a-z_]*$/;

/**
 * Keycloak's error bodies come in three shapes: OAuth (`error`, `error_description`), admin
 * REST (`errorMessage`, sometimes with `field`), and JAX-RS exceptions (`error` holding a
 * sentence such as "Realm not found."). All become one KeycloakError.
 */
export function keycloakError(response: Exchange, operation: string): KeycloakError {
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    body = undefined;
  }
  const field = (name: string): string | undefined => {
    if (typeof body !== "object" || body === null) return undefined;
    const value: unknown = (body as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  };
  const fallbackCode = STATUS_CODES[response.status] ?? `http_${response.status}`;
  const rawError = field("error");
  const isCode = rawError !== undefined && OAUTH_ERROR_CODE.test(rawError);
  const error = isCode ? rawError : fallbackCode;
  const description =
    field("error_description") ??
    field("errorMessage") ??
    (isCode ? undefined : rawError) ??
    `HTTP ${response.status}`;
  const ErrorClass = response.status >= 500 ? KeycloakUnavailableError : KeycloakError;
  return new ErrorClass(response.status, error, safeDescription(description), operation);
}

export function realmSegment(realm: string, operation: string): string {
  if (!isValidRealmName(realm)) {
    throw new KeycloakInvalidNameError(
      0,
      "invalid_realm_name",
      "The realm name is not allowed in a URL",
      operation,
    );
  }
  return realm;
}

export function idSegment(id: string, operation: string): string {
  if (!isValidResourceId(id)) {
    throw new KeycloakInvalidNameError(
      0,
      "invalid_id",
      "The id is not allowed in a URL",
      operation,
    );
  }
  return id;
}

/** Parses and validates a JSON answer; anything else is a KeycloakMalformedResponseError. */
export function parseJson<Schema extends z.ZodType>(
  response: Exchange,
  schema: Schema,
  operation: string,
): z.infer<Schema> {
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    throw malformed(response, operation, "the body is not JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // Only the paths of the offending fields: their values may be tokens.
    const fields = parsed.error.issues.map((issue) => issue.path.join(".") || "(root)");
    throw malformed(response, operation, `unexpected shape at ${[...new Set(fields)].join(", ")}`);
  }
  return parsed.data;
}

function malformed(response: Exchange, operation: string, description: string) {
  return new KeycloakMalformedResponseError(
    response.status,
    "malformed_response",
    description,
    operation,
  );
}
