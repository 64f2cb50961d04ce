import { exportJWK, generateKeyPair, type JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ALLOWED_ALGORITHMS, JwksRegistry, jwksUrl, parseKeySet } from "../../src/core/auth/jwks";
import { TokenVerificationError } from "../../src/core/auth/token-errors";

const KC = "https://id.example.test";
let rsa: JWK;
let ec: JWK;

beforeAll(async () => {
  const [rsaPair, ecPair] = await Promise.all([
    generateKeyPair("RS256", { extractable: true }),
    generateKeyPair("ES256", { extractable: true }),
  ]);
  rsa = { ...(await exportJWK(rsaPair.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" };
  ec = { ...(await exportJWK(ecPair.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" };
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("JWKS documents", () => {
  it("keeps public signing keys and only their public members", () => {
    const parsed = parseKeySet({
      keys: [{ ...rsa, x5c: ["MIIC..."], x5t: "abc", "x5t#S256": "def" }, ec],
    });
    expect(parsed).toEqual([
      { kty: "RSA", kid: "rsa-1", alg: "RS256", use: "sig", n: rsa.n, e: rsa.e },
      { kty: "EC", kid: "ec-1", alg: "ES256", use: "sig", crv: "P-256", x: ec.x, y: ec.y },
    ]);
  });

  it.each([
    ["an encryption key", { use: "enc", alg: "RSA-OAEP" }],
    ["an HMAC key", { kty: "oct", k: "c2VjcmV0", alg: "HS256" }],
    ["an OKP key", { kty: "OKP", crv: "Ed25519", x: "abc", alg: "EdDSA" }],
    ["a key without kid", { kid: undefined }],
    ["a key with an empty kid", { kid: "" }],
    ["a key for an alg we do not allow", { alg: "RS1" }],
    ["a key whose key_ops exclude verify", { key_ops: ["encrypt"] }],
    ["a private key", { d: "private-exponent" }],
    ["an RSA key without modulus", { n: undefined }],
    ["an EC key without y", { kty: "EC", crv: "P-256", x: "abc", n: undefined, e: undefined }],
    ["a string", "key"],
  ])("skips %s", (_, change) => {
    const candidate = typeof change === "string" ? change : { ...rsa, ...change };
    expect(parseKeySet({ keys: [candidate, ec] }).map((jwk) => jwk.kid)).toEqual(["ec-1"]);
  });

  it.each([null, [], "keys", { keys: "nope" }, {}])("refuses %j as a key set", (document) => {
    expect(() => parseKeySet(document)).toThrow("not a JSON Web Key Set");
  });

  it("builds the certs URL from a validated realm only", () => {
    expect(jwksUrl(KC, "tenant-a")).toBe(`${KC}/realms/tenant-a/protocol/openid-connect/certs`);
    expect(() => jwksUrl(KC, "../master")).toThrow(TokenVerificationError);
  });
});

describe("JWKS registry", () => {
  function registry(documents: () => unknown) {
    let now = 0;
    const fetch = vi.fn(async () => Response.json(documents()));
    const jwks = new JwksRegistry({
      keycloakUrl: KC,
      fetch,
      now: () => now,
      cooldownMs: 30_000,
      maxAgeMs: 600_000,
      maxBackoffMs: 300_000,
      fetchTimeoutMs: 1_000,
    });
    return { jwks, fetch, advance: (ms: number) => (now += ms) };
  }

  it("creates one key set per realm and refuses invalid realm names", () => {
    const { jwks } = registry(() => ({ keys: [rsa] }));
    expect(jwks.forRealm("tenant-a")).toBe(jwks.forRealm("tenant-a"));
    expect(jwks.forRealm("tenant-a")).not.toBe(jwks.forRealm("tenant-b"));
    expect(() => jwks.forRealm("a/b")).toThrow(TokenVerificationError);
  });

  it("keeps imported keys of unchanged JWKs across refreshes", async () => {
    const { jwks, fetch, advance } = registry(() => ({ keys: [rsa, ec] }));
    const realm = jwks.forRealm("tenant-a");
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    const first = await realm.key("rsa-1", "RS256");
    expect(importKey).toHaveBeenCalledTimes(1);
    advance(600_000);
    const second = await realm.key("rsa-1", "RS256");
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(second).toBe(first);
    expect(importKey).toHaveBeenCalledTimes(1);
  });

  it("matches the key to the alg family", async () => {
    const { jwks } = registry(() => ({ keys: [rsa, ec] }));
    const realm = jwks.forRealm("tenant-a");
    await expect(realm.key("ec-1", "ES256")).resolves.toMatchObject({ type: "public" });
    await expect(realm.key("ec-1", "ES384")).rejects.toMatchObject({ reason: "alg_not_allowed" });
    await expect(realm.key("rsa-1", "ES256")).rejects.toMatchObject({ reason: "alg_not_allowed" });
    await expect(realm.key("rsa-1", "RS512")).rejects.toMatchObject({ reason: "alg_not_allowed" });
  });

  it("refuses a published key that cannot be imported", async () => {
    const { jwks } = registry(() => ({ keys: [{ ...ec, x: "AAAA" }] }));
    await expect(jwks.forRealm("tenant-a").key("ec-1", "ES256")).rejects.toMatchObject({
      reason: "unknown_key",
    });
  });

  it("refuses RSA keys shorter than 2048 bits", async () => {
    // jose refuses to generate one, so WebCrypto does.
    const weak = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    const jwk = { ...(await crypto.subtle.exportKey("jwk", weak.publicKey)), kid: "weak" };
    const { jwks } = registry(() => ({ keys: [jwk] }));
    await expect(jwks.forRealm("tenant-a").key("weak", "RS256")).rejects.toMatchObject({
      reason: "unknown_key",
    });
  });

  it("allows exactly the RSA and EC signature algorithms", () => {
    expect([...ALLOWED_ALGORITHMS]).toEqual([
      "RS256",
      "RS384",
      "RS512",
      "PS256",
      "PS384",
      "PS512",
      "ES256",
      "ES384",
      "ES512",
    ]);
  });

  it("reports the removed kids after a refresh", async () => {
    let published = [rsa, ec];
    let now = 0;
    const removed: string[][] = [];
    const jwks = new JwksRegistry({
      keycloakUrl: KC,
      fetch: async () => Response.json({ keys: published }),
      now: () => now,
      cooldownMs: 30_000,
      maxAgeMs: 600_000,
      maxBackoffMs: 300_000,
      fetchTimeoutMs: 1_000,
      onKeysRemoved: (realm, kids) => removed.push([realm, ...kids]),
    });
    const realm = jwks.forRealm("tenant-a");
    await realm.key("rsa-1", "RS256");
    published = [ec];
    now += 600_000;
    await realm.key("ec-1", "ES256");
    expect(removed).toEqual([["tenant-a", "rsa-1"]]);
    expect(realm.isCurrent("rsa-1", now)).toBe(false);
    expect(realm.isCurrent("ec-1", now)).toBe(true);
  });
});
