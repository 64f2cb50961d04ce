import { base64url } from "jose";
import type { Cache } from "../cache/port";
import { type FetchLike, isAllowedAlgorithm, JwksRegistry, VERIFY_PARAMS } from "./jwks";
import { VerifiedTokenCache } from "./token-cache";
import { TokenVerificationError } from "./token-errors";
import { assertValidRealm, normalizeKeycloakUrl } from "./token-realm";

export {
  type TokenFailureReason,
  TokenVerificationError,
  tokenFailureResponse,
  unauthorized,
} from "./token-errors";
export { isValidRealmName } from "./token-realm";

/**
 * Local verification of Keycloak access tokens against each realm's JWKS (ADR 0011).
 *
 * Create ONE verifier per process (Bun) or isolate (Workers: a module-level variable filled on
 * the first request): it owns the per-realm key sets and the verified-token cache, and a verifier
 * built per request would refetch keys on every request.
 */

/** The claims of a verified access token that the API uses. Frozen: entries are shared. */
export interface VerifiedToken {
  readonly iss: string;
  /** The realm the caller expected (from our database), which the issuer matched. */
  readonly realm: string;
  readonly typ: "Bearer";
  readonly sub: string;
  readonly sid?: string;
  readonly azp?: string;
  /** Always a list, whatever form the token used. */
  readonly aud: readonly string[];
  readonly preferred_username?: string;
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly given_name?: string;
  readonly family_name?: string;
  readonly realm_access: { readonly roles: readonly string[] };
  readonly resource_access: Readonly<Record<string, { readonly roles: readonly string[] }>>;
  readonly scope?: string;
  /** `scope` split on spaces. */
  readonly scopes: readonly string[];
  readonly exp: number;
  readonly iat?: number;
  readonly nbf?: number;
  readonly auth_time?: number;
  readonly jti?: string;
  /** The key the token was signed with (for logs and key-rotation diagnostics). */
  readonly kid: string;
}

export interface ExpectedToken {
  /** From our database or configuration, never from the token. */
  realm: string;
  /** The client id the token must be meant for (`aud`, or `azp` as Keycloak often does). */
  audience: string;
}

export interface TokenVerifier {
  verify(token: string, expected: ExpectedToken): Promise<VerifiedToken>;
  /** For diagnostics and tests: tokens currently remembered as verified. */
  stats(): { verifiedTokens: number };
}

export interface TokenVerifierOptions {
  keycloakUrl: string;
  /** Tolerance for `exp`, `nbf` and `iat` against our clock (default 30 s). */
  clockSkewSeconds?: number;
  /** For the JWKS requests; default the global `fetch`. */
  fetch?: FetchLike;
  /** Milliseconds clock (default `Date.now`). */
  now?: () => number;
  /** Shared key-set cache, so a fresh Workers isolate need not fetch the JWKS. */
  cache?: Cache;
  /** No refetch within this time after a failure or an unknown-kid refetch (default 30 s). */
  jwksCooldownMs?: number;
  /** Refresh key sets older than this (default 10 min). */
  jwksMaxAgeMs?: number;
  /** Cap of the exponential backoff after consecutive JWKS failures (default 5 min). */
  jwksMaxBackoffMs?: number;
  /** Per JWKS request (default 5 s). */
  jwksFetchTimeoutMs?: number;
  /** Verified tokens remembered in process (default 10 000; 0 turns the cache off). */
  verifiedTokenCacheSize?: number;
  /** JWKS fetch failures and the like. Never receives a token. */
  logError?: (message: string, fields: Record<string, unknown>) => void;
}

/** Anything longer is not a Keycloak access token; refused before it is hashed or parsed. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Three base64url segments; an empty signature is let through to be refused as `alg: none`. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** An RS512 signature with a 4096-bit key is 683 characters; longer ones are not hashed. */
const MAX_SIGNATURE_LENGTH = 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** The signing input is ASCII (the format check guaranteed it). */
const ascii = new TextEncoder();

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keycloakUrl = normalizeKeycloakUrl(options.keycloakUrl);
  const skew = options.clockSkewSeconds ?? 30;
  if (!Number.isFinite(skew) || skew < 0) throw new RangeError("clockSkewSeconds must be >= 0");
  const now = options.now ?? Date.now;
  const cacheSize = options.verifiedTokenCacheSize ?? 10_000;
  const verified = cacheSize > 0 ? new VerifiedTokenCache<VerifiedToken>(cacheSize) : undefined;
  const globalFetch: FetchLike = (input, init) => fetch(input, init);
  const jwks = new JwksRegistry({
    keycloakUrl,
    // Called through a wrapper: workerd throws "Illegal invocation" for a detached `fetch`.
    fetch: options.fetch ?? globalFetch,
    now,
    ...(options.cache ? { cache: options.cache } : {}),
    cooldownMs: options.jwksCooldownMs ?? 30_000,
    maxAgeMs: options.jwksMaxAgeMs ?? 10 * 60_000,
    maxBackoffMs: options.jwksMaxBackoffMs ?? 5 * 60_000,
    fetchTimeoutMs: options.jwksFetchTimeoutMs ?? 5_000,
    onKeysRemoved: (realm, kids) => verified?.dropKeys(realm, kids),
    ...(options.logError ? { logError: options.logError } : {}),
  });

  async function verify(token: string, expected: ExpectedToken): Promise<VerifiedToken> {
    const { realm, audience } = expected;
    assertValidRealm(realm);
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) {
      throw new TokenVerificationError("malformed", "not a compact JWS");
    }
    const keySet = jwks.forRealm(realm);
    const at = now();
    const signatureStart = token.lastIndexOf(".") + 1;
    const signatureLength = token.length - signatureStart;

    // The cache is consulted before the format check: a hit means byte-for-byte the token that
    // passed every check before, and the regex would cost as much as the whole lookup.
    let cacheKey: string | undefined;
    if (verified && signatureLength > 0 && signatureLength <= MAX_SIGNATURE_LENGTH) {
      cacheKey = VerifiedTokenCache.keyOf(token, signatureStart);
      const hit = verified.get(cacheKey, token, at);
      if (hit && hit.realm === realm && keySet.isCurrent(hit.kid, at)) {
        checkAudience(hit.value.aud, hit.value.azp, audience);
        return hit.value;
      }
    }

    if (!COMPACT_JWS.test(token)) {
      throw new TokenVerificationError("malformed", "not a compact JWS");
    }
    const headerEnd = token.indexOf(".");
    const header = decodeSegment(token.slice(0, headerEnd), "header");
    const { alg, kid } = header;
    if (!isAllowedAlgorithm(alg)) throw new TokenVerificationError("alg_not_allowed");
    // Keycloak never sets these. `crit` names extensions a verifier must understand or refuse
    // (RFC 7515 4.1.11), and `b64: false` would change what the signature covers.
    if ("crit" in header || "b64" in header) {
      throw new TokenVerificationError("malformed", "unsupported header parameter");
    }
    if (typeof kid !== "string" || kid.length === 0) {
      throw new TokenVerificationError("unknown_key", "token header has no kid");
    }

    // Claims are checked before the signature only to refuse cheaply (and so that a token of
    // another realm never triggers a refetch of this realm's keys); nothing is accepted until
    // the signature has been verified below.
    const payload = decodeSegment(token.slice(headerEnd + 1, signatureStart - 1), "payload");
    const claims = readClaims(payload, { realm, kid, issuer: `${keycloakUrl}/realms/${realm}` });
    checkTime(claims, at / 1000, skew);
    checkAudience(claims.aud, claims.azp, audience);

    const key = keySet.ready(kid, alg, at) ?? (await keySet.key(kid, alg));
    let signature: Uint8Array<ArrayBuffer>;
    try {
      signature = base64url.decode(token.slice(signatureStart)) as Uint8Array<ArrayBuffer>;
    } catch {
      throw new TokenVerificationError("malformed", "signature is not base64url");
    }
    let valid = false;
    try {
      // Directly on WebCrypto rather than through jose's compactVerify, which would parse the
      // header and decode the payload a second time. The alg was allow-listed, the key matched to
      // its family and imported for exactly this alg; WebCrypto refuses a key whose algorithm
      // differs from the parameters.
      valid = await crypto.subtle.verify(
        VERIFY_PARAMS[alg],
        key,
        signature,
        ascii.encode(token.slice(0, signatureStart - 1)),
      );
    } catch (cause) {
      throw new TokenVerificationError("bad_signature", "signature check failed", { cause });
    }
    if (!valid) throw new TokenVerificationError("bad_signature");

    if (verified && cacheKey !== undefined && claims.exp * 1000 > at) {
      verified.set(cacheKey, {
        signedPart: token.slice(0, signatureStart - 1),
        expiresAtMs: claims.exp * 1000,
        realm,
        kid,
        value: claims,
      });
    }
    return claims;
  }

  return { verify, stats: () => ({ verifiedTokens: verified?.size ?? 0 }) };
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(base64url.decode(segment)));
  } catch {
    throw new TokenVerificationError("malformed", `${what} is not base64url JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TokenVerificationError("malformed", `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * The typed claims, refusing anything Keycloak would not produce for an access token of this
 * realm. The order of the checks decides which reason a doubly wrong token gets: type first (an
 * ID or refresh token is the common mistake), then issuer.
 */
function readClaims(
  payload: Record<string, unknown>,
  context: { realm: string; kid: string; issuer: string },
): VerifiedToken {
  if (payload.typ !== "Bearer") {
    throw new TokenVerificationError("wrong_type", "typ is not Bearer");
  }
  if (payload.iss !== context.issuer) throw new TokenVerificationError("wrong_issuer");
  const exp = payload.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    throw new TokenVerificationError("malformed", "exp missing");
  }
  const sub = payload.sub;
  if (typeof sub !== "string" || sub.length === 0) {
    throw new TokenVerificationError("malformed", "sub missing");
  }
  const scope = optionalString(payload, "scope");
  const claims: VerifiedToken = {
    iss: context.issuer,
    realm: context.realm,
    typ: "Bearer",
    sub,
    sid: optionalString(payload, "sid"),
    azp: optionalString(payload, "azp"),
    aud: Object.freeze(audienceList(payload.aud)),
    preferred_username: optionalString(payload, "preferred_username"),
    email: optionalString(payload, "email"),
    email_verified: optionalBoolean(payload, "email_verified"),
    given_name: optionalString(payload, "given_name"),
    family_name: optionalString(payload, "family_name"),
    realm_access: Object.freeze({ roles: roleList(payload.realm_access, "realm_access") }),
    resource_access: resourceAccess(payload.resource_access),
    scope,
    scopes: Object.freeze(scope ? scope.split(" ").filter(Boolean) : []),
    exp,
    iat: optionalNumber(payload, "iat"),
    nbf: optionalNumber(payload, "nbf"),
    auth_time: optionalNumber(payload, "auth_time"),
    jti: optionalString(payload, "jti"),
    kid: context.kid,
  };
  return Object.freeze(claims);
}

function checkTime(claims: VerifiedToken, nowSeconds: number, skew: number): void {
  if (nowSeconds >= claims.exp + skew) throw new TokenVerificationError("expired");
  if (claims.nbf !== undefined && claims.nbf > nowSeconds + skew) {
    throw new TokenVerificationError("not_yet_valid", "nbf in the future");
  }
  if (claims.iat !== undefined && claims.iat > nowSeconds + skew) {
    throw new TokenVerificationError("not_yet_valid", "iat in the future");
  }
}

function checkAudience(aud: readonly string[], azp: string | undefined, expected: string): void {
  if (expected.length > 0 && (aud.includes(expected) || azp === expected)) return;
  throw new TokenVerificationError("wrong_audience");
}

function audienceList(aud: unknown): string[] {
  if (aud === undefined) return [];
  if (typeof aud === "string") return [aud];
  if (Array.isArray(aud) && aud.every((item) => typeof item === "string")) return [...aud];
  throw new TokenVerificationError("malformed", "aud has the wrong type");
}

function roleList(container: unknown, claim: string): readonly string[] {
  if (container === undefined) return Object.freeze([]);
  if (typeof container !== "object" || container === null || Array.isArray(container)) {
    throw new TokenVerificationError("malformed", `${claim} has the wrong type`);
  }
  const roles = (container as { roles?: unknown }).roles;
  if (roles === undefined) return Object.freeze([]);
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === "string")) {
    throw new TokenVerificationError("malformed", `${claim}.roles has the wrong type`);
  }
  return Object.freeze([...roles]);
}

function resourceAccess(
  value: unknown,
): Readonly<Record<string, { readonly roles: readonly string[] }>> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TokenVerificationError("malformed", "resource_access has the wrong type");
  }
  // fromEntries defines own properties, so a client named "__proto__" cannot touch a prototype.
  return Object.freeze(
    Object.fromEntries(
      Object.entries(value).map(([client, access]) => [
        client,
        Object.freeze({ roles: roleList(access, "resource_access") }),
      ]),
    ),
  );
}

function optionalString(payload: Record<string, unknown>, name: string): string | undefined {
  const value = payload[name];
  if (value === undefined || typeof value === "string") return value;
  throw new TokenVerificationError("malformed", `${name} has the wrong type`);
}

function optionalNumber(payload: Record<string, unknown>, name: string): number | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new TokenVerificationError("malformed", `${name} has the wrong type`);
}

function optionalBoolean(payload: Record<string, unknown>, name: string): boolean | undefined {
  const value = payload[name];
  if (value === undefined || typeof value === "boolean") return value;
  throw new TokenVerificationError("malformed", `${name} has the wrong type`);
}
