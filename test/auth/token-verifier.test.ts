import {
  base64url,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { jwksUrl } from "../../src/core/auth/jwks";
import {
  createTokenVerifier,
  isValidRealmName,
  type TokenFailureReason,
  TokenVerificationError,
  type TokenVerifierOptions,
  tokenFailureResponse,
  unauthorized,
} from "../../src/core/auth/token-verifier";
import { CacheUnavailableError } from "../../src/core/cache/errors";
import { keys } from "../../src/core/cache/keys";
import { MemoryCache } from "../../src/core/cache/memory";
import type { Cache } from "../../src/core/cache/port";

// ---------------------------------------------------------------------------------------------
// Fixtures: our own tiny IdP (keys, JWKS endpoint, token minting) and a clock we move by hand.

const KC = "https://id.example.test";
const AUDIENCE = "neoadmin-api";
const START = Date.UTC(2030, 0, 1);
const COOLDOWN = 30_000;
const MAX_AGE = 10 * 60_000;

type Alg = "RS256" | "PS256" | "ES256" | "ES384";

interface SigningKey {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string, alg: Alg = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, jwk };
}

/** A JWKS endpoint per realm that counts requests and can be switched off. */
class FakeIdp {
  readonly realms = new Map<string, JWK[]>();
  readonly requests: string[] = [];
  mode: "up" | "down" | "500" | "garbage" = "up";
  /** Resolves pending requests only when released, to hold many callers on one fetch. */
  gate: Promise<void> | undefined;

  publish(realm: string, ...signingKeys: (SigningKey | JWK)[]): void {
    this.realms.set(
      realm,
      signingKeys.map((key) => ("jwk" in key ? key.jwk : key)),
    );
  }

  fetchesFor(realm: string): number {
    return this.requests.filter((url) => url === jwksUrl(KC, realm)).length;
  }

  readonly fetch = async (url: string): Promise<Response> => {
    this.requests.push(url);
    if (this.gate) await this.gate;
    if (this.mode === "down") throw new TypeError("fetch failed: connection refused");
    if (this.mode === "500") return new Response("oops", { status: 500 });
    if (this.mode === "garbage") return new Response("<html>", { status: 200 });
    const match = /\/realms\/([^/]+)\/protocol\/openid-connect\/certs$/.exec(url);
    const published = match?.[1] ? this.realms.get(match[1]) : undefined;
    if (!published) return new Response('{"error":"Realm does not exist"}', { status: 404 });
    return Response.json({
      keys: [
        ...published,
        // Keycloak also lists its encryption key; it must never be used to verify.
        { kid: "enc-key", kty: "RSA", alg: "RSA-OAEP", use: "enc", n: "AQAB", e: "AQAB" },
      ],
    });
  };
}

let clock = START;
const nowSeconds = () => Math.floor(clock / 1000);

function accessClaims(realm: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    typ: "Bearer",
    iss: `${KC}/realms/${realm}`,
    sub: "0b8f2d4e-user",
    sid: "session-1",
    azp: "admin-console",
    aud: [AUDIENCE, "account"],
    preferred_username: "ada",
    email: "ada@example.test",
    email_verified: true,
    given_name: "Ada",
    family_name: "Lovelace",
    realm_access: { roles: ["offline_access", "platform-admin"] },
    resource_access: { [AUDIENCE]: { roles: ["tenants:read"] }, account: { roles: ["view"] } },
    scope: "openid email profile",
    iat: nowSeconds(),
    auth_time: nowSeconds() - 5,
    exp: nowSeconds() + 300,
    jti: crypto.randomUUID(),
    ...overrides,
  };
}

async function mint(
  key: SigningKey,
  claims: JWTPayload,
  header: { kid?: string | undefined; alg?: string } = {},
): Promise<string> {
  const kid = "kid" in header ? header.kid : key.kid;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: header.alg ?? key.alg, typ: "JWT", ...(kid ? { kid } : {}) })
    .sign(key.privateKey);
}

function unsigned(header: object, payload: object): string {
  const encode = (value: object) => base64url.encode(JSON.stringify(value));
  return `${encode(header)}.${encode(payload)}.`;
}

async function failure(promise: Promise<unknown>): Promise<TokenVerificationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenVerificationError) return error;
    throw error;
  }
  throw new Error("expected the verification to fail");
}

async function expectReason(promise: Promise<unknown>, reason: TokenFailureReason) {
  const error = await failure(promise);
  expect(error.reason).toBe(reason);
  return error;
}

function setup(options: Partial<TokenVerifierOptions> = {}) {
  const idp = new FakeIdp();
  const verifier = createTokenVerifier({
    keycloakUrl: KC,
    fetch: idp.fetch,
    now: () => clock,
    jwksCooldownMs: COOLDOWN,
    jwksMaxAgeMs: MAX_AGE,
    ...options,
  });
  return { idp, verifier };
}

const A = "tenant-a";
const B = "tenant-b";
const expectA = { realm: A, audience: AUDIENCE };
let keyA1: SigningKey;
let keyA2: SigningKey;
let keyB1: SigningKey;
let impostor: SigningKey;
let keyEs: SigningKey;
let keyPs: SigningKey;

beforeAll(async () => {
  [keyA1, keyA2, keyB1, impostor, keyEs, keyPs] = await Promise.all([
    signingKey("a-rs-1"),
    signingKey("a-rs-2"),
    signingKey("b-rs-1"),
    signingKey("a-rs-1"), // same kid as keyA1, different key pair
    signingKey("a-es-1", "ES256"),
    signingKey("a-ps-1", "PS256"),
  ]);
});

afterEach(() => {
  clock = START;
  vi.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------

describe("token verifier: happy path", () => {
  it("verifies a Keycloak access token and returns its typed claims", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const claims = accessClaims(A);
    const verified = await verifier.verify(await mint(keyA1, claims), expectA);
    expect(verified).toMatchObject({
      iss: `${KC}/realms/${A}`,
      realm: A,
      typ: "Bearer",
      sub: claims.sub,
      sid: "session-1",
      azp: "admin-console",
      aud: [AUDIENCE, "account"],
      preferred_username: "ada",
      email: "ada@example.test",
      email_verified: true,
      given_name: "Ada",
      family_name: "Lovelace",
      realm_access: { roles: ["offline_access", "platform-admin"] },
      resource_access: { [AUDIENCE]: { roles: ["tenants:read"] }, account: { roles: ["view"] } },
      scope: "openid email profile",
      scopes: ["openid", "email", "profile"],
      exp: claims.exp,
      iat: claims.iat,
      auth_time: claims.auth_time,
      jti: claims.jti,
      kid: keyA1.kid,
    });
    expect(Object.isFrozen(verified)).toBe(true);
    expect(Object.isFrozen(verified.realm_access.roles)).toBe(true);
  });

  it("verifies ES256 and PS256 tokens", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1, keyEs, keyPs);
    await expect(
      verifier.verify(await mint(keyEs, accessClaims(A)), expectA),
    ).resolves.toBeTruthy();
    await expect(
      verifier.verify(await mint(keyPs, accessClaims(A)), expectA),
    ).resolves.toBeTruthy();
  });

  it("accepts the client in azp when aud does not name it, and a string aud", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const azpOnly = accessClaims(A, { aud: "account", azp: AUDIENCE });
    await expect(verifier.verify(await mint(keyA1, azpOnly), expectA)).resolves.toMatchObject({
      aud: ["account"],
      azp: AUDIENCE,
    });
    const noAud = accessClaims(A, { aud: undefined, azp: AUDIENCE });
    await expect(verifier.verify(await mint(keyA1, noAud), expectA)).resolves.toMatchObject({
      aud: [],
    });
    const stringAud = accessClaims(A, { aud: AUDIENCE });
    await expect(verifier.verify(await mint(keyA1, stringAud), expectA)).resolves.toMatchObject({
      aud: [AUDIENCE],
    });
  });

  it.each([
    ["not a URL", { keycloakUrl: "id.example.test" }],
    ["another scheme", { keycloakUrl: "ftp://id.example.test" }],
    ["a query", { keycloakUrl: `${KC}?realm=x` }],
    ["credentials", { keycloakUrl: "https://user:pw@id.example.test" }],
    ["a negative skew", { clockSkewSeconds: -1 }],
  ])("refuses a configuration with %s", (_, overrides) => {
    expect(() => createTokenVerifier({ keycloakUrl: KC, ...overrides })).toThrow();
  });

  it("treats a trailing slash in keycloakUrl as the same issuer", async () => {
    const { idp, verifier } = setup({ keycloakUrl: `${KC}/` });
    idp.publish(A, keyA1);
    await expect(
      verifier.verify(await mint(keyA1, accessClaims(A)), expectA),
    ).resolves.toBeTruthy();
  });
});

describe("token verifier: time claims", () => {
  it("refuses an expired token, tolerating the configured skew", async () => {
    const { idp, verifier } = setup({ clockSkewSeconds: 30 });
    idp.publish(A, keyA1);
    const withinSkew = await mint(keyA1, accessClaims(A, { exp: nowSeconds() - 29 }));
    await expect(verifier.verify(withinSkew, expectA)).resolves.toBeTruthy();
    const expired = await mint(keyA1, accessClaims(A, { exp: nowSeconds() - 31 }));
    await expectReason(verifier.verify(expired, expectA), "expired");
  });

  it("requires exp", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const noExp = await mint(keyA1, accessClaims(A, { exp: undefined }));
    await expectReason(verifier.verify(noExp, expectA), "malformed");
  });

  it.each([
    ["nbf", { nbf: nowSeconds() + 31 }],
    ["iat", { iat: nowSeconds() + 31 }],
  ])("refuses a token whose %s is in the future beyond the skew", async (_, overrides) => {
    const { idp, verifier } = setup({ clockSkewSeconds: 30 });
    idp.publish(A, keyA1);
    const early = await mint(keyA1, accessClaims(A, overrides));
    await expectReason(verifier.verify(early, expectA), "not_yet_valid");
  });

  it("accepts nbf and iat slightly in the future (within the skew)", async () => {
    const { idp, verifier } = setup({ clockSkewSeconds: 30 });
    idp.publish(A, keyA1);
    const token = await mint(
      keyA1,
      accessClaims(A, { nbf: nowSeconds() + 29, iat: nowSeconds() + 29 }),
    );
    await expect(verifier.verify(token, expectA)).resolves.toBeTruthy();
  });
});

describe("token verifier: security", () => {
  it("refuses a token signed by another key under a published kid", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const forged = await mint(impostor, accessClaims(A));
    await expectReason(verifier.verify(forged, expectA), "bad_signature");
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const [header, , signature] = (await mint(keyA1, accessClaims(A))).split(".");
    const elevated = base64url.encode(
      JSON.stringify(accessClaims(A, { realm_access: { roles: ["platform-owner"] } })),
    );
    await expectReason(
      verifier.verify(`${header}.${elevated}.${signature}`, expectA),
      "bad_signature",
    );
  });

  it('refuses alg "none" (and any other unlisted alg) before looking for a key', async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    for (const alg of ["none", "None", "HS256", "EdDSA", "RS1"]) {
      const token = unsigned({ alg, typ: "JWT", kid: keyA1.kid }, accessClaims(A));
      await expectReason(verifier.verify(token, expectA), "alg_not_allowed");
      await expectReason(verifier.verify(`${token}c2ln`, expectA), "alg_not_allowed");
    }
    expect(idp.requests).toHaveLength(0);
  });

  it("refuses HS256 signed with the realm's public key as the HMAC secret (key confusion)", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const pem = await exportSPKI(keyA1.publicKey);
    const secrets = [
      new TextEncoder().encode(pem),
      new TextEncoder().encode(JSON.stringify(keyA1.jwk)),
      base64url.decode(keyA1.jwk.n ?? ""),
    ];
    for (const secret of secrets) {
      for (const alg of ["HS256", "HS384", "HS512"]) {
        const token = await new SignJWT(accessClaims(A))
          .setProtectedHeader({ alg, typ: "JWT", kid: keyA1.kid })
          .sign(secret);
        await expectReason(verifier.verify(token, expectA), "alg_not_allowed");
      }
    }
  });

  it("refuses a key of the wrong family for the alg (RS256 header, EC key kid)", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1, keyEs);
    const token = await mint(keyA1, accessClaims(A), { kid: keyEs.kid });
    await expectReason(verifier.verify(token, expectA), "alg_not_allowed");
    // PS256 under the kid of a key that Keycloak published for RS256 only.
    const ps = await mint(keyPs, accessClaims(A), { kid: keyA1.kid });
    await expectReason(verifier.verify(ps, expectA), "alg_not_allowed");
  });

  it("refuses a token without kid", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A), { kid: undefined });
    await expectReason(verifier.verify(token, expectA), "unknown_key");
  });

  it.each([
    ["another host", "https://evil.example.test/realms/tenant-a"],
    ["a trailing slash", `${KC}/realms/${A}/`],
    ["http instead of https", `http://id.example.test/realms/${A}`],
    ["another realm's path", `${KC}/realms/${B}`],
    ["a missing iss", undefined],
  ])("refuses a wrong issuer: %s", async (_, iss) => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { iss }));
    await expectReason(verifier.verify(token, expectA), "wrong_issuer");
  });

  it("refuses a token of another realm, signed by that realm's key, without fetching A's keys", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    idp.publish(B, keyB1);
    const tokenB = await mint(keyB1, accessClaims(B));
    await expect(verifier.verify(tokenB, { realm: B, audience: AUDIENCE })).resolves.toBeTruthy();
    await expectReason(verifier.verify(tokenB, expectA), "wrong_issuer");
    expect(idp.fetchesFor(A)).toBe(0);
  });

  it("refuses a token claiming realm A's issuer but signed with realm B's key", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    idp.publish(B, keyB1);
    await expectReason(verifier.verify(await mint(keyB1, accessClaims(A)), expectA), "unknown_key");
    await expectReason(
      verifier.verify(await mint(keyB1, accessClaims(A), { kid: keyA1.kid }), expectA),
      "bad_signature",
    );
  });

  it.each([
    ["ID", { typ: "ID", aud: AUDIENCE, azp: AUDIENCE, nonce: "n" }],
    ["Refresh", { typ: "Refresh", aud: `${KC}/realms/${A}` }],
    ["Offline", { typ: "Offline" }],
    ["missing", { typ: undefined }],
  ])("refuses a %s token of the same realm", async (_, overrides) => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, overrides));
    await expectReason(verifier.verify(token, expectA), "wrong_type");
  });

  it("refuses a token for another audience", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { aud: ["account"], azp: "other-client" }));
    await expectReason(verifier.verify(token, expectA), "wrong_audience");
    const ours = await mint(keyA1, accessClaims(A));
    await expectReason(verifier.verify(ours, { realm: A, audience: "" }), "wrong_audience");
  });

  it.each([
    ["empty", ""],
    ["one segment", "abc"],
    ["two segments", "abc.def"],
    ["four segments", "a.b.c.d"],
    ["a Bearer prefix", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"],
    ["whitespace", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln "],
    ["standard base64", "eyJhbGciOiJSUzI1NiJ9+.e30.c2ln"],
    ["a header that is not JSON", `${base64url.encode("not json")}.e30.c2ln`],
    ["a header that is an array", `${base64url.encode("[1]")}.e30.c2ln`],
    [
      "a payload that is not JSON",
      `eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.${base64url.encode("{")}.c2ln`,
    ],
    [
      "a payload that is null",
      `eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.${base64url.encode("null")}.c2ln`,
    ],
    ["non-ASCII", "eyJhbGciOiJSUzI1NiJ9.é.c2ln"],
    ["oversized", `${"a".repeat(10_000)}.${"b".repeat(10_000)}.c2ln`],
  ])("refuses a malformed token: %s", async (_, token) => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    await expectReason(verifier.verify(token, expectA), "malformed");
    expect(idp.requests).toHaveLength(0);
  });

  it("refuses claims of the wrong type", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    for (const overrides of [
      { sub: undefined },
      { sub: 42 },
      { realm_access: { roles: "admin" } },
      { resource_access: { x: { roles: [1] } } },
      { aud: [AUDIENCE, 7] },
      { email: ["a@b"] },
      { exp: "soon" },
    ]) {
      const token = await mint(keyA1, accessClaims(A, overrides as JWTPayload));
      await expectReason(verifier.verify(token, expectA), "malformed");
    }
  });

  it("refuses crit and b64 header parameters", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    for (const extra of [{ crit: ["exp"] }, { b64: false, crit: ["b64"] }, { b64: true }]) {
      const token = unsigned({ alg: "RS256", kid: keyA1.kid, ...extra }, accessClaims(A));
      await expectReason(verifier.verify(`${token}c2ln`, expectA), "malformed");
    }
  });

  it.each([
    "a/b",
    "..",
    ".",
    "%2F",
    "a%2Fb",
    "",
    "a b",
    "tenant?x=1",
    "tenant#x",
    "ténant",
    "a".repeat(65),
    "../master",
    "a\\b",
  ])("refuses the realm name %j before it reaches a URL", async (realm) => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A));
    await expectReason(verifier.verify(token, { realm, audience: AUDIENCE }), "invalid_realm");
    expect(isValidRealmName(realm)).toBe(false);
    expect(idp.requests).toHaveLength(0);
  });

  it("accepts ordinary realm names", () => {
    for (const realm of ["master", "tenant-a", "Tenant_01", "acme.eu", "...", "a".repeat(64)]) {
      expect(isValidRealmName(realm)).toBe(true);
    }
  });

  it("never puts the token in an error message", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const tokens = [
      await mint(impostor, accessClaims(A)),
      await mint(keyA1, accessClaims(A, { exp: nowSeconds() - 100 })),
      await mint(keyA1, accessClaims(A, { typ: "ID" })),
      await mint(keyA1, accessClaims(A), { kid: "nope" }),
      "garbage.token.here!",
    ];
    for (const token of tokens) {
      const error = await failure(verifier.verify(token, expectA));
      for (const part of [token, ...token.split(".").filter((p) => p.length > 8)]) {
        expect(error.message).not.toContain(part);
        expect(String(error.stack)).not.toContain(part);
      }
    }
  });
});

describe("token verifier: RFC 6750 responses", () => {
  it("challenges without an error when no token was sent", () => {
    const error = unauthorized();
    expect(error.status).toBe(401);
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.headers["WWW-Authenticate"]).toBe('Bearer realm="neoadmin"');
  });

  it("names invalid_token with a fixed description", () => {
    const error = unauthorized("expired");
    expect(error.status).toBe(401);
    expect(error.headers["WWW-Authenticate"]).toBe(
      'Bearer realm="neoadmin", error="invalid_token", error_description="The access token expired"',
    );
  });

  it("turns unavailable keys into a 503 rather than a 401", () => {
    const unavailable = tokenFailureResponse(new TokenVerificationError("jwks_unavailable"));
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers["Retry-After"]).toBe("30");
    const bad = tokenFailureResponse(new TokenVerificationError("bad_signature", "detail"));
    expect(bad.status).toBe(401);
    expect(bad.message).toBe("The access token signature is invalid");
  });
});

describe("token verifier: JWKS per realm", () => {
  it("verifies with both keys during a rotation, and refuses the old kid once it is removed", async () => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 0 });
    idp.publish(A, keyA1, keyA2);
    const old = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 3600 }));
    const fresh = await mint(keyA2, accessClaims(A, { exp: nowSeconds() + 3600 }));
    await expect(verifier.verify(old, expectA)).resolves.toMatchObject({ kid: keyA1.kid });
    await expect(verifier.verify(fresh, expectA)).resolves.toMatchObject({ kid: keyA2.kid });
    expect(idp.fetchesFor(A)).toBe(1);

    idp.publish(A, keyA2);
    clock += MAX_AGE; // the key set is due for a refresh
    await expect(verifier.verify(fresh, expectA)).resolves.toBeTruthy();
    expect(idp.fetchesFor(A)).toBe(2);
    await expectReason(verifier.verify(old, expectA), "unknown_key");
  });

  it("picks up a new key at once: an unknown kid refetches, then the cooldown holds", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    await verifier.verify(await mint(keyA1, accessClaims(A)), expectA);
    expect(idp.fetchesFor(A)).toBe(1);

    idp.publish(A, keyA1, keyA2); // Keycloak rotated; our copy is fresh but lacks the new kid
    await expect(
      verifier.verify(await mint(keyA2, accessClaims(A)), expectA),
    ).resolves.toBeTruthy();
    expect(idp.fetchesFor(A)).toBe(2);

    // Random kids (an attacker, or a token of another deployment) within the cooldown: no fetch.
    const unknownKey = await signingKey("unknown-1");
    for (const kid of ["unknown-1", "unknown-2", "unknown-3"]) {
      const token = await mint(unknownKey, accessClaims(A), { kid });
      await expectReason(verifier.verify(token, expectA), "unknown_key");
    }
    expect(idp.fetchesFor(A)).toBe(2);

    clock += COOLDOWN - 1;
    await expectReason(
      verifier.verify(await mint(unknownKey, accessClaims(A)), expectA),
      "unknown_key",
    );
    expect(idp.fetchesFor(A)).toBe(2);
    clock += 1;
    await expectReason(
      verifier.verify(await mint(unknownKey, accessClaims(A)), expectA),
      "unknown_key",
    );
    expect(idp.fetchesFor(A)).toBe(3);
  });

  it("shares the unknown-kid refetch between concurrent requests", async () => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 0 });
    idp.publish(A, keyA1);
    await verifier.verify(await mint(keyA1, accessClaims(A)), expectA);
    idp.publish(A, keyA1, keyA2);
    const token = await mint(keyA2, accessClaims(A));
    const results = await Promise.all(
      Array.from({ length: 20 }, () => verifier.verify(token, expectA)),
    );
    expect(results.every((claims) => claims.kid === keyA2.kid)).toBe(true);
    expect(idp.fetchesFor(A)).toBe(2);
  });

  it("keeps the last good keys when the endpoint goes down, and backs off instead of storming", async () => {
    const errors: Record<string, unknown>[] = [];
    const { idp, verifier } = setup({
      verifiedTokenCacheSize: 0,
      jwksMaxBackoffMs: 4 * COOLDOWN,
      logError: (_, fields) => errors.push(fields),
    });
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 86_400 }));
    await verifier.verify(token, expectA);
    expect(idp.fetchesFor(A)).toBe(1);

    idp.mode = "down";
    clock += MAX_AGE;
    const burst = () =>
      Promise.all(Array.from({ length: 25 }, () => verifier.verify(token, expectA)));
    await expect(burst()).resolves.toHaveLength(25);
    expect(idp.fetchesFor(A)).toBe(2); // one failed refresh for the whole burst
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ realm: A, failures: 1, keeping_last_good: true });

    // Backoff: 30 s, 60 s, 120 s, then capped at 120 s.
    const schedule = [COOLDOWN, 2 * COOLDOWN, 4 * COOLDOWN, 4 * COOLDOWN];
    let expected = 2;
    for (const wait of schedule) {
      clock += wait - 1;
      await burst();
      expect(idp.fetchesFor(A)).toBe(expected);
      clock += 1;
      await burst();
      expected += 1;
      expect(idp.fetchesFor(A)).toBe(expected);
    }

    // Unknown kids do not get through the backoff either.
    await expectReason(verifier.verify(await mint(keyA2, accessClaims(A)), expectA), "unknown_key");
    expect(idp.fetchesFor(A)).toBe(expected);

    idp.mode = "up";
    clock += 4 * COOLDOWN;
    await verifier.verify(token, expectA);
    expect(idp.fetchesFor(A)).toBe(expected + 1);
    clock += MAX_AGE - 1;
    await verifier.verify(token, expectA);
    expect(idp.fetchesFor(A)).toBe(expected + 1); // healthy again: refreshed by age only
  });

  it.each([
    ["an HTTP 500", "500"],
    ["a body that is not JSON", "garbage"],
  ] as const)("treats %s from the JWKS endpoint as a failure", async (_, mode) => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 0 });
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 86_400 }));
    await verifier.verify(token, expectA);
    idp.mode = mode;
    clock += MAX_AGE;
    await expect(verifier.verify(token, expectA)).resolves.toBeTruthy();
    expect(idp.fetchesFor(A)).toBe(2);
  });

  it("does not replace the keys with an empty key set", async () => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 0 });
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 86_400 }));
    await verifier.verify(token, expectA);
    idp.publish(A);
    clock += MAX_AGE;
    await expect(verifier.verify(token, expectA)).resolves.toBeTruthy();
  });

  it("answers jwks_unavailable when no key set was ever loaded, without retrying in the backoff", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    idp.mode = "down";
    const token = await mint(keyA1, accessClaims(A));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => verifier.verify(token, expectA)),
    );
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    await expectReason(verifier.verify(token, expectA), "jwks_unavailable");
    expect(idp.fetchesFor(A)).toBe(1);
    idp.mode = "up";
    clock += COOLDOWN;
    await expect(verifier.verify(token, expectA)).resolves.toBeTruthy();
    expect(idp.fetchesFor(A)).toBe(2);
  });

  it("an unknown realm's 404 is jwks_unavailable, not a crash", async () => {
    const { verifier } = setup();
    const token = await mint(keyA1, accessClaims("nowhere"));
    await expectReason(
      verifier.verify(token, { realm: "nowhere", audience: AUDIENCE }),
      "jwks_unavailable",
    );
  });

  it("makes exactly one JWKS request for 50 concurrent first requests", async () => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 0 });
    idp.publish(A, keyA1);
    let release = () => {};
    idp.gate = new Promise((resolve) => {
      release = resolve;
    });
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => mint(keyA1, accessClaims(A, { jti: `t${i}` }))),
    );
    const pending = tokens.map((token) => verifier.verify(token, expectA));
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    const results = await Promise.all(pending);
    expect(results).toHaveLength(50);
    expect(idp.fetchesFor(A)).toBe(1);
  });

  it("does not let a JWKS request that never settles hold later requests", async () => {
    const { idp, verifier } = setup({ jwksFetchTimeoutMs: 20 });
    idp.publish(A, keyA1);
    idp.gate = new Promise(() => {}); // e.g. the Workers request that started it is gone
    const token = await mint(keyA1, accessClaims(A));
    await expectReason(verifier.verify(token, expectA), "jwks_unavailable");
    idp.gate = undefined;
    clock += 41; // past the stalled load's deadline: a new one starts
    await expect(verifier.verify(token, expectA)).resolves.toBeTruthy();
    expect(idp.fetchesFor(A)).toBe(2);
  });

  it("keeps one key set per realm", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    idp.publish(B, keyB1);
    await verifier.verify(await mint(keyA1, accessClaims(A)), expectA);
    await verifier.verify(await mint(keyB1, accessClaims(B)), { realm: B, audience: AUDIENCE });
    await verifier.verify(await mint(keyA1, accessClaims(A)), expectA);
    expect(idp.fetchesFor(A)).toBe(1);
    expect(idp.fetchesFor(B)).toBe(1);
  });
});

describe("token verifier: shared key-set cache (Workers)", () => {
  it("lets a fresh isolate start from the shared cache without fetching", async () => {
    const cache = new MemoryCache({ now: () => clock });
    const first = setup({ cache });
    first.idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A));
    await first.verifier.verify(token, expectA);
    expect(first.idp.requests).toHaveLength(1);

    const second = setup({ cache }); // new instance: empty map, same Cache
    second.idp.publish(A, keyA1);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => second.verifier.verify(token, expectA)),
    );
    expect(results).toHaveLength(10);
    expect(second.idp.requests).toHaveLength(0);
  });

  it("fetches instead of trusting a shared copy that lacks the token's kid (keys rotated since)", async () => {
    const cache = new MemoryCache({ now: () => clock });
    const first = setup({ cache });
    first.idp.publish(A, keyA1);
    await first.verifier.verify(await mint(keyA1, accessClaims(A)), expectA);

    const second = setup({ cache }); // a fresh isolate; the identity provider has rotated to A2
    second.idp.publish(A, keyA2);
    await second.verifier.verify(await mint(keyA2, accessClaims(A)), expectA);
    expect(second.idp.requests).toHaveLength(1);
  });

  it("stores only public signing keys, under a platform key", async () => {
    const cache = new MemoryCache({ now: () => clock });
    const set = vi.spyOn(cache, "set");
    const { idp, verifier } = setup({ cache });
    idp.publish(A, keyA1);
    await verifier.verify(await mint(keyA1, accessClaims(A)), expectA);
    expect(set).toHaveBeenCalledTimes(1);
    const [key, value, options] = set.mock.calls[0] ?? [];
    expect(String(key)).toMatch(/^platform:jwks:tenant-a:[0-9a-f]{16}$/);
    expect(value).toMatchObject({ v: 1, issuer: `${KC}/realms/${A}`, fetchedAt: clock });
    expect(JSON.stringify(value)).not.toContain("enc-key");
    expect(options?.ttlSeconds).toBeGreaterThan(MAX_AGE / 1000);
  });

  it("refetches when the shared copy is older than the max age, and uses it if the fetch fails", async () => {
    const cache = new MemoryCache({ now: () => clock });
    const first = setup({ cache });
    first.idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 86_400 }));
    await first.verifier.verify(token, expectA);

    clock += MAX_AGE + 1;
    const second = setup({ cache });
    second.idp.publish(A, keyA1);
    second.idp.mode = "down";
    await expect(second.verifier.verify(token, expectA)).resolves.toBeTruthy();
    expect(second.idp.requests).toHaveLength(1);
  });

  it("ignores a shared entry written for another issuer", async () => {
    const cache = new MemoryCache({ now: () => clock });
    const staging = setup({ cache, keycloakUrl: "https://id.staging.test" });
    staging.idp.publish(A, impostor);
    const stagingToken = await new SignJWT(
      accessClaims(A, { iss: `https://id.staging.test/realms/${A}` }),
    )
      .setProtectedHeader({ alg: "RS256", kid: impostor.kid })
      .sign(impostor.privateKey);
    await staging.verifier.verify(stagingToken, expectA);

    const production = setup({ cache });
    production.idp.publish(A, keyA1);
    // Signed by the staging key under production's issuer: must not verify with staging's copy.
    await expectReason(
      production.verifier.verify(await mint(impostor, accessClaims(A)), expectA),
      "bad_signature",
    );
    expect(production.idp.requests).toHaveLength(1);
  });

  it("fetches when the cache is down, and still verifies", async () => {
    const down: Cache = {
      kind: "upstash",
      get: () => Promise.reject(new CacheUnavailableError("get", "timeout", { timeoutMs: 250 })),
      getMany: () => Promise.reject(new CacheUnavailableError("getMany", "backend")),
      set: () => Promise.reject(new CacheUnavailableError("set", "backend")),
      setIfAbsent: () => Promise.reject(new CacheUnavailableError("setIfAbsent", "backend")),
      delete: () => Promise.reject(new CacheUnavailableError("delete", "backend")),
      deleteByPrefix: () => Promise.reject(new CacheUnavailableError("deleteByPrefix", "backend")),
      increment: () => Promise.reject(new CacheUnavailableError("increment", "backend")),
      ttl: () => Promise.reject(new CacheUnavailableError("ttl", "backend")),
      ping: () => Promise.reject(new CacheUnavailableError("ping", "backend")),
    };
    const logged: string[] = [];
    const { idp, verifier } = setup({ cache: down, logError: (message) => logged.push(message) });
    idp.publish(A, keyA1);
    await expect(
      verifier.verify(await mint(keyA1, accessClaims(A)), expectA),
    ).resolves.toBeTruthy();
    expect(idp.requests).toHaveLength(1);
    expect(logged).toEqual(["jwks shared cache write failed"]);
  });

  it("uses a realm-scoped key that the cache key rules accept", () => {
    expect(() => keys.platform("jwks", A, "0123456789abcdef")).not.toThrow();
  });
});

describe("token verifier: verified-token cache", () => {
  it("answers a repeated token without another signature check", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const verify = vi.spyOn(crypto.subtle, "verify");
    const token = await mint(keyA1, accessClaims(A));
    const first = await verifier.verify(token, expectA);
    expect(verify).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 5; i++) expect(await verifier.verify(token, expectA)).toBe(first);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("never serves a token past its exp", async () => {
    const { idp, verifier } = setup({ clockSkewSeconds: 30 });
    idp.publish(A, keyA1);
    const verify = vi.spyOn(crypto.subtle, "verify");
    const exp = nowSeconds() + 60;
    const token = await mint(keyA1, accessClaims(A, { exp }));
    await verifier.verify(token, expectA);
    clock = exp * 1000 - 1;
    await verifier.verify(token, expectA);
    expect(verify).toHaveBeenCalledTimes(1);
    clock = exp * 1000; // cache entry ends at exp; the skew is judged by a full verification
    await verifier.verify(token, expectA);
    expect(verify).toHaveBeenCalledTimes(2);
    clock = (exp + 30) * 1000;
    await expectReason(verifier.verify(token, expectA), "expired");
  });

  it("drops tokens of a kid that a refresh removed", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1, keyA2);
    const token = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 3600 }));
    await verifier.verify(token, expectA);
    expect(verifier.stats().verifiedTokens).toBe(1);
    idp.publish(A, keyA2);
    clock += MAX_AGE; // the refresh, triggered by another token, drops the removed kid
    await verifier.verify(await mint(keyA2, accessClaims(A)), expectA);
    expect(verifier.stats().verifiedTokens).toBe(1);
    await expectReason(verifier.verify(token, expectA), "unknown_key");
  });

  it("re-verifies a cached token once its key set is due for a refresh", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A, { exp: nowSeconds() + 3600 }));
    await verifier.verify(token, expectA);
    clock += MAX_AGE;
    idp.publish(A, keyA2);
    await expectReason(verifier.verify(token, expectA), "unknown_key");
    expect(idp.fetchesFor(A)).toBe(2);
  });

  it("applies the caller's realm and audience to cached tokens", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    idp.publish(B, keyB1);
    const token = await mint(keyA1, accessClaims(A));
    await verifier.verify(token, expectA);
    await expectReason(verifier.verify(token, { realm: A, audience: "billing" }), "wrong_audience");
    await expectReason(verifier.verify(token, { realm: B, audience: AUDIENCE }), "wrong_issuer");
    await expect(verifier.verify(token, { realm: A, audience: "account" })).resolves.toBeTruthy();
  });

  it("does not match a token that only shares the signature with a cached one", async () => {
    const { idp, verifier } = setup();
    idp.publish(A, keyA1);
    const token = await mint(keyA1, accessClaims(A));
    await verifier.verify(token, expectA);
    const [header, , signature] = token.split(".");
    // Same length as the genuine payload, so only the content differs.
    const payload = JSON.parse(
      new TextDecoder().decode(base64url.decode(token.split(".")[1] ?? "")),
    );
    const other = base64url.encode(JSON.stringify({ ...payload, sub: "0b8f2d4e-resu" }));
    expect(other.length).toBe(token.split(".")[1]?.length);
    await expectReason(
      verifier.verify(`${header}.${other}.${signature}`, expectA),
      "bad_signature",
    );
  });

  it("stays within its size bound", async () => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 3 });
    idp.publish(A, keyA1);
    const verify = vi.spyOn(crypto.subtle, "verify");
    const tokens = await Promise.all(
      Array.from({ length: 4 }, (_, i) => mint(keyA1, accessClaims(A, { jti: `j${i}` }))),
    );
    for (const token of tokens) await verifier.verify(token, expectA);
    expect(verify).toHaveBeenCalledTimes(4);
    await verifier.verify(tokens[3] ?? "", expectA); // still cached
    expect(verify).toHaveBeenCalledTimes(4);
    await verifier.verify(tokens[0] ?? "", expectA); // evicted: verified again
    expect(verify).toHaveBeenCalledTimes(5);
    expect(verifier.stats().verifiedTokens).toBe(3);
  });

  it("keeps a token in use when older ones are evicted", async () => {
    const { idp, verifier } = setup({ verifiedTokenCacheSize: 4 });
    idp.publish(A, keyA1);
    const verify = vi.spyOn(crypto.subtle, "verify");
    const [t0, t1, t2, t3, t4] = await Promise.all(
      Array.from({ length: 5 }, (_, i) => mint(keyA1, accessClaims(A, { jti: `k${i}` }))),
    );
    for (const token of [t0, t1, t2, t3]) await verifier.verify(token ?? "", expectA);
    await verifier.verify(t0 ?? "", expectA); // in use: moves back to the young end
    await verifier.verify(t4 ?? "", expectA); // evicts the oldest, now t1
    expect(verify).toHaveBeenCalledTimes(5);
    await verifier.verify(t0 ?? "", expectA);
    expect(verify).toHaveBeenCalledTimes(5);
    await verifier.verify(t1 ?? "", expectA);
    expect(verify).toHaveBeenCalledTimes(6);
  });
});
