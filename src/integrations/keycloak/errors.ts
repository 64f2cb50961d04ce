import { redactText } from "../../core/log/redact";

/**
 * Keycloak refused a call, or could not be reached, or answered something we cannot trust.
 * Callers branch on `status` and `error` (Keycloak's OAuth error code, or one of ours below);
 * `description` is Keycloak's own text. Nothing here ever holds what we sent: no password,
 * client secret or token reaches a message.
 */
export class KeycloakError extends Error {
  override name = "KeycloakError";

  constructor(
    /** The HTTP status Keycloak answered with; 0 when there was no answer. */
    readonly status: number,
    /** `invalid_grant`, `invalid_client`, ... or `conflict`, `not_found` for the admin REST API. */
    readonly error: string,
    readonly description: string,
    /** What we were doing, e.g. `password grant`; for messages and logs. */
    readonly operation: string,
    options: { cause?: unknown } = {},
  ) {
    super(`Keycloak ${operation} failed (${status || "no response"} ${error}): ${description}`, {
      cause: options.cause,
    });
  }
}

/** No usable answer: network failure, timeout, or a 5xx without an OAuth error body. */
export class KeycloakUnavailableError extends KeycloakError {
  override name = "KeycloakUnavailableError";
}

/**
 * An answer that does not have the shape Keycloak gives (a token response without a token, an
 * introspection result whose `active` is not a boolean ...). Callers must treat it as a refusal:
 * failing closed is the point of validating it.
 */
export class KeycloakMalformedResponseError extends KeycloakError {
  override name = "KeycloakMalformedResponseError";
}

/** A realm name or resource id that must not go into a URL. Thrown before any request. */
export class KeycloakInvalidNameError extends KeycloakError {
  override name = "KeycloakInvalidNameError";
}

const MAX_DESCRIPTION = 300;

/** Keycloak's text, bounded and with anything that looks like a token masked. */
export function safeDescription(text: string): string {
  const redacted = redactText(text);
  return redacted.length > MAX_DESCRIPTION ? `${redacted.slice(0, MAX_DESCRIPTION)}…` : redacted;
}
