import { calculateJwkThumbprint, type JWK } from "jose";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public half as published in the JWKS. */
  publicJwk: { kid: string; kty: "RSA"; alg: "RS256"; use: "sig"; n: string; e: string };
}

export interface HmacKey {
  kid: string;
  key: CryptoKey;
}

/** An RS256 key pair like Keycloak's default `rsa-generated` provider (2048 bits). */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  if (typeof jwk.n !== "string" || typeof jwk.e !== "string") {
    throw new Error("The runtime exported an RSA public key without modulus or exponent");
  }
  // Keycloak's kids are opaque strings too; a thumbprint is stable and unique per key.
  const kid = await calculateJwkThumbprint({ kty: "RSA", n: jwk.n, e: jwk.e });
  return {
    kid,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicJwk: { kid, kty: "RSA", alg: "RS256", use: "sig", n: jwk.n, e: jwk.e },
  };
}

/** Keycloak's `hmac-generated` key: HS512, used for refresh and action tokens. */
export async function generateHmacKey(): Promise<HmacKey> {
  const key = await crypto.subtle.generateKey(
    { name: "HMAC", hash: "SHA-512", length: 512 },
    false,
    ["sign", "verify"],
  );
  return { kid: crypto.randomUUID(), key };
}

/**
 * RSA key generation costs about half a second of CPU. A test suite that builds a fresh IdP per
 * test shares one cache: instances built from it reuse each other's keys, while the keys within
 * one instance (its realms, its rotations) stay distinct. Only for instances that never serve
 * side by side; the embedded default generates its own.
 */
export interface SigningKeyCache {
  keyAt(index: number): Promise<SigningKey>;
}

export function createSigningKeyCache(): SigningKeyCache {
  const keys: Promise<SigningKey>[] = [];
  return {
    keyAt(index) {
      const existing = keys[index];
      if (existing) return existing;
      const created = generateSigningKey();
      keys[index] = created;
      return created;
    },
  };
}
