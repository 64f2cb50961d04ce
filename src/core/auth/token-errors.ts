import { ApiError } from "../http/errors";

/**
 * Why a bearer token was refused. Stable codes for logs and metrics; clients only ever see the
 * RFC 6750 `invalid_token` error with a fixed description (never the token, never a claim).
 */
export type TokenFailureReason =
  | "malformed"
  | "expired"
  | "not_yet_valid"
  | "bad_signature"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_type"
  | "unknown_key"
  | "alg_not_allowed"
  | "jwks_unavailable"
  | "invalid_realm";

const descriptions: Record<TokenFailureReason, string> = {
  malformed: "The access token is malformed",
  expired: "The access token expired",
  not_yet_valid: "The access token is not valid yet",
  bad_signature: "The access token signature is invalid",
  wrong_issuer: "The access token was issued by another issuer",
  wrong_audience: "The access token was issued for another audience",
  wrong_type: "The token is not an access token",
  unknown_key: "The access token was signed with an unknown key",
  alg_not_allowed: "The access token signature algorithm is not allowed",
  jwks_unavailable: "The signing keys of the identity provider are unavailable",
  invalid_realm: "The access token cannot be verified for this realm",
};

export class TokenVerificationError extends Error {
  override readonly name = "TokenVerificationError";

  constructor(
    readonly reason: TokenFailureReason,
    /** Internal detail for logs. Callers build it from fixed text: it never holds the token. */
    detail?: string,
    options: { cause?: unknown } = {},
  ) {
    super(detail ? `${descriptions[reason]}: ${detail}` : descriptions[reason], options);
  }
}

/** The `realm` auth-param of every challenge: the protection space, not a Keycloak realm. */
const CHALLENGE = 'Bearer realm="neoadmin"';

/**
 * 401 with an RFC 6750 challenge. Without a reason (no credentials were sent) the challenge
 * carries no error code, as section 3.1 asks; otherwise `invalid_token` and a fixed description
 * (only characters allowed in a quoted-string).
 */
export function unauthorized(reason?: TokenFailureReason): ApiError {
  if (!reason) {
    return new ApiError("UNAUTHORIZED", "Authentication required", {
      headers: { "WWW-Authenticate": CHALLENGE },
    });
  }
  const description = descriptions[reason];
  return new ApiError("UNAUTHORIZED", description, {
    headers: {
      "WWW-Authenticate": `${CHALLENGE}, error="invalid_token", error_description="${description}"`,
    },
  });
}

/**
 * The response for a failed verification. Unreachable signing keys are our outage, not a bad
 * token: a 401 would make clients throw away valid tokens and send users to a login that fails
 * the same way, so that one is a 503 with `Retry-After`.
 */
export function tokenFailureResponse(error: TokenVerificationError): ApiError {
  if (error.reason === "jwks_unavailable") {
    return new ApiError("SERVICE_UNAVAILABLE", descriptions.jwks_unavailable, {
      headers: { "Retry-After": "30" },
    });
  }
  return unauthorized(error.reason);
}
