import { importJWK } from "jose";
import { keys } from "../cache/keys";
import type { Cache } from "../cache/port";
import { TokenVerificationError } from "./token-errors";
import { sha256HexSync } from "./token-hash";
import { assertValidRealm, realmIssuer } from "./token-realm";

/**
 * Each realm's signing keys, fetched from `{keycloakUrl}/realms/{realm}/protocol/openid-connect/certs`.
 *
 * Built on jose's `importJWK` rather than `createRemoteJWKSet` because we need what the latter
 * cannot give (ADR 0011): the last good key set survives failed refreshes, failures back off
 * exponentially, one in-flight fetch is shared by every caller, and on Workers a fresh isolate
 * reads the key set from the shared `Cache` instead of fetching it.
 *
 * One `JwksRegistry` per process or isolate (it lives in the token verifier, which is created once
 * at module scope), one `RealmKeys` per realm, created on first use and kept.
 */

export const ALLOWED_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
] as const;
export type AllowedAlgorithm = (typeof ALLOWED_ALGORITHMS)[number];

/**
 * The key a signature algorithm needs. Checked on our side too (jose checks it as well) so that an
 * RSA key can never be used for an EC signature or, worse, as an HMAC secret.
 */
const KEY_FAMILY: Record<AllowedAlgorithm, { kty: "RSA" | "EC"; crv?: string }> = {
  RS256: { kty: "RSA" },
  RS384: { kty: "RSA" },
  RS512: { kty: "RSA" },
  PS256: { kty: "RSA" },
  PS384: { kty: "RSA" },
  PS512: { kty: "RSA" },
  ES256: { kty: "EC", crv: "P-256" },
  ES384: { kty: "EC", crv: "P-384" },
  ES512: { kty: "EC", crv: "P-521" },
};

export function isAllowedAlgorithm(alg: unknown): alg is AllowedAlgorithm {
  return typeof alg === "string" && Object.hasOwn(KEY_FAMILY, alg);
}

/** Only the public members of a signing key: what we keep in memory and in the shared cache. */
export interface PublicSigningJwk {
  kty: "RSA" | "EC";
  kid: string;
  alg?: string;
  use?: "sig";
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
}

/** The shared-cache entry. `issuer` guards against two deployments sharing one Redis. */
interface StoredKeySet {
  v: 1;
  issuer: string;
  fetchedAt: number;
  keys: PublicSigningJwk[];
}

interface KeyEntry {
  jwk: PublicSigningJwk;
  /** Lets a refresh keep the already imported CryptoKeys of unchanged keys. */
  canonical: string;
  imported: Map<AllowedAlgorithm, Promise<CryptoKey>>;
  /** The same keys once imported, for the synchronous fast path (`ready`). */
  ready: Map<AllowedAlgorithm, CryptoKey>;
}

interface KeySet {
  fetchedAt: number;
  byKid: Map<string, KeyEntry[]>;
}

/**
 * The part of `fetch` we call. Narrower than `typeof fetch` (which under bun-types also demands
 * `fetch.preconnect`), so a test's fake is a plain function; the global `fetch` fits it.
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface JwksOptions {
  /** Normalized (no trailing slash). */
  keycloakUrl: string;
  fetch: FetchLike;
  now: () => number;
  cache?: Cache;
  /** Minimum gap between refetches caused by unknown `kid`s, and the first failure backoff. */
  cooldownMs: number;
  /** A key set older than this is refreshed before use (the old one stays if that fails). */
  maxAgeMs: number;
  /** Upper bound of the exponential backoff after consecutive failures. */
  maxBackoffMs: number;
  fetchTimeoutMs: number;
  /** Called after a refresh that dropped kids, so tokens verified with them can be forgotten. */
  onKeysRemoved?: (realm: string, kids: readonly string[]) => void;
  logError?: (message: string, fields: Record<string, unknown>) => void;
}

/** Largest JWKS document we accept; Keycloak's are a few KB. */
const MAX_JWKS_CHARS = 256 * 1024;
/**
 * The shared copy outlives `maxAgeMs` on purpose: a fresh isolate that cannot reach Keycloak
 * can still start from it (as a last good set), while a fresher fetch always replaces it.
 */
const SHARED_TTL_SECONDS = 24 * 60 * 60;

export function jwksUrl(keycloakUrl: string, realm: string): string {
  return `${realmIssuer(keycloakUrl, realm)}/protocol/openid-connect/certs`;
}

export class JwksRegistry {
  private readonly realms = new Map<string, RealmKeys>();

  constructor(private readonly options: JwksOptions) {}

  forRealm(realm: string): RealmKeys {
    let keySet = this.realms.get(realm);
    if (!keySet) {
      assertValidRealm(realm);
      keySet = new RealmKeys(realm, this.options);
      this.realms.set(realm, keySet);
    }
    return keySet;
  }
}

export class RealmKeys {
  /** Network fetches attempted (successful or not), for tests and diagnostics. */
  fetches = 0;
  private current: KeySet | undefined;
  private inflight: Promise<void> | undefined;
  private inflightSince = 0;
  private failures = 0;
  /** No network attempt before this instant (backoff after failures). */
  private retryAt = 0;
  private lastUnknownKidRefetch = Number.NEGATIVE_INFINITY;
  private readonly issuer: string;
  private readonly url: string;

  constructor(
    readonly realm: string,
    private readonly options: JwksOptions,
  ) {
    this.issuer = realmIssuer(options.keycloakUrl, realm);
    this.url = jwksUrl(options.keycloakUrl, realm);
  }

  /** True when `kid` is in the current set and the set need not be refreshed first. */
  isCurrent(kid: string, now: number): boolean {
    return this.current?.byKid.has(kid) === true && !this.refreshDue(now);
  }

  /**
   * The key for `kid` and `alg` when it is already imported and no refresh is due: the hot path,
   * without the promise hops of `key()`. Undefined means "ask `key()`", not "no such key".
   */
  ready(kid: string, alg: AllowedAlgorithm, now: number): CryptoKey | undefined {
    if (this.refreshDue(now)) return undefined;
    const entries = this.current?.byKid.get(kid);
    if (entries?.length !== 1) return undefined;
    return entries[0]?.ready.get(alg);
  }

  /** The verification key for a token header's `kid` and `alg`. */
  async key(kid: string, alg: AllowedAlgorithm): Promise<CryptoKey> {
    const now = this.options.now();
    // A caller that already waited for a load does not refetch for an unknown kid: the set it
    // got is as new as a refetch would give.
    let loaded = false;
    if (this.refreshDue(now)) {
      // With the kid: a shared copy that lacks it (keys rotated since it was stored) is skipped
      // for a fetch from the identity provider, instead of being installed and trusted.
      await this.refresh(kid);
      loaded = true;
    }
    if (!this.current) {
      throw new TokenVerificationError("jwks_unavailable", "no key set could be loaded");
    }
    let entries = this.current.byKid.get(kid);
    if (!entries && this.inflight) {
      await this.waitFor(this.inflight);
      loaded = true;
      entries = this.current.byKid.get(kid);
    }
    if (!entries && !loaded && this.mayRefetchForUnknownKid(now)) {
      // Before the await, so that concurrent requests with unknown kids share this one fetch.
      this.lastUnknownKidRefetch = now;
      await this.refresh(kid);
      entries = this.current.byKid.get(kid);
    }
    if (!entries) throw new TokenVerificationError("unknown_key", "no key with this kid");
    const entry = entries.find((candidate) => fits(candidate.jwk, alg));
    if (!entry) throw new TokenVerificationError("alg_not_allowed", "key does not fit the alg");
    return importFor(entry, alg);
  }

  private refreshDue(now: number): boolean {
    if (now < this.retryAt) return false;
    return !this.current || now - this.current.fetchedAt >= this.options.maxAgeMs;
  }

  private mayRefetchForUnknownKid(now: number): boolean {
    return now - this.lastUnknownKidRefetch >= this.options.cooldownMs && now >= this.retryAt;
  }

  /** Single flight: every caller during a load awaits the same promise. Never rejects. */
  private refresh(wantedKid?: string): Promise<void> {
    const now = this.options.now();
    // On Workers a fetch belongs to the request that started it; if that request is torn down
    // (its client went away) the fetch never settles, not even by its timeout. A load older than
    // its deadline is therefore abandoned rather than left to hold every later request.
    if (this.inflight && now - this.inflightSince > this.deadlineMs()) this.inflight = undefined;
    if (!this.inflight) {
      this.inflightSince = now;
      const pending: Promise<void> = this.load(wantedKid).finally(() => {
        if (this.inflight === pending) this.inflight = undefined;
      });
      this.inflight = pending;
    }
    return this.waitFor(this.inflight);
  }

  /** Waits for a load, but never past its deadline (measured by a timer of the waiting request). */
  private waitFor(load: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.deadlineMs());
    });
    return Promise.race([load, deadline]).finally(() => clearTimeout(timer));
  }

  private deadlineMs(): number {
    const { fetchTimeoutMs } = this.options;
    return fetchTimeoutMs + Math.min(fetchTimeoutMs, 1_000);
  }

  private async load(wantedKid: string | undefined): Promise<void> {
    const shared = await this.readShared();
    if (shared && (!this.current || shared.fetchedAt > this.current.fetchedAt)) {
      const fresh = this.options.now() - shared.fetchedAt < this.options.maxAgeMs;
      const hasKid = wantedKid === undefined || shared.keys.some((jwk) => jwk.kid === wantedKid);
      if (fresh && hasKid) {
        this.install(shared.keys, shared.fetchedAt);
        return;
      }
    }
    if (this.options.now() < this.retryAt) return;
    try {
      this.fetches += 1;
      const jwks = await this.fetchKeys();
      const fetchedAt = this.options.now();
      this.failures = 0;
      this.retryAt = 0;
      this.install(jwks, fetchedAt);
      await this.writeShared({ v: 1, issuer: this.issuer, fetchedAt, keys: jwks });
    } catch (error) {
      this.failures += 1;
      const backoff = Math.min(
        this.options.cooldownMs * 2 ** (this.failures - 1),
        Math.max(this.options.maxBackoffMs, this.options.cooldownMs),
      );
      this.retryAt = this.options.now() + backoff;
      this.options.logError?.("jwks fetch failed", {
        realm: this.realm,
        failures: this.failures,
        retry_in_ms: backoff,
        keeping_last_good: this.current !== undefined,
        error: error instanceof Error ? error.message : String(error),
      });
      // A stale shared copy beats nothing at all when this isolate has no set yet.
      if (!this.current && shared) this.install(shared.keys, shared.fetchedAt);
    }
  }

  private async fetchKeys(): Promise<PublicSigningJwk[]> {
    const response = await this.options.fetch(this.url, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`JWKS endpoint answered ${response.status}`);
    }
    const text = await response.text();
    if (text.length > MAX_JWKS_CHARS) throw new Error("JWKS document too large");
    const signingKeys = parseKeySet(JSON.parse(text));
    // Installing an empty set would throw the last good keys away for nothing.
    if (signingKeys.length === 0) throw new Error("JWKS holds no usable signing key");
    return signingKeys;
  }

  private install(jwks: PublicSigningJwk[], fetchedAt: number): void {
    const previous = this.current;
    const reusable = new Map<string, KeyEntry>();
    for (const entries of previous?.byKid.values() ?? []) {
      for (const entry of entries) reusable.set(entry.canonical, entry);
    }
    const byKid = new Map<string, KeyEntry[]>();
    for (const jwk of jwks) {
      const canonical = JSON.stringify(jwk);
      const entry = reusable.get(canonical) ?? {
        jwk,
        canonical,
        imported: new Map(),
        ready: new Map(),
      };
      const list = byKid.get(jwk.kid);
      if (list) list.push(entry);
      else byKid.set(jwk.kid, [entry]);
    }
    this.current = { fetchedAt, byKid };
    if (!previous) return;
    const removed = [...previous.byKid.keys()].filter((kid) => !byKid.has(kid));
    if (removed.length > 0) this.options.onKeysRemoved?.(this.realm, removed);
  }

  private sharedKey() {
    // The issuer digest keeps two deployments (say staging and production) that share one Redis
    // from ever reading each other's keys for a realm of the same name.
    return keys.platform("jwks", this.realm, sha256HexSync(this.issuer).slice(0, 16));
  }

  /** The shared copy, when there is a cache and it answers; an outage just means a fetch. */
  private async readShared(): Promise<StoredKeySet | undefined> {
    if (!this.options.cache) return undefined;
    try {
      const stored = await this.options.cache.get<unknown>(this.sharedKey());
      return parseStored(stored, this.issuer);
    } catch {
      return undefined;
    }
  }

  private async writeShared(value: StoredKeySet): Promise<void> {
    if (!this.options.cache) return;
    try {
      await this.options.cache.set(this.sharedKey(), value, { ttlSeconds: SHARED_TTL_SECONDS });
    } catch (error) {
      this.options.logError?.("jwks shared cache write failed", {
        realm: this.realm,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

function fits(jwk: PublicSigningJwk, alg: AllowedAlgorithm): boolean {
  const family = KEY_FAMILY[alg];
  if (jwk.kty !== family.kty) return false;
  if (family.crv !== undefined && jwk.crv !== family.crv) return false;
  // Keycloak names the algorithm of each key; a key published for RS256 is not a PS256 key.
  return jwk.alg === undefined || jwk.alg === alg;
}

function importFor(entry: KeyEntry, alg: AllowedAlgorithm): Promise<CryptoKey> {
  let imported = entry.imported.get(alg);
  if (!imported) {
    imported = importJWK({ ...entry.jwk }, alg).then(
      (key) => {
        if (key instanceof Uint8Array) {
          throw new TokenVerificationError("unknown_key", "not an asymmetric key");
        }
        // What jose checks before each RSA verification; we verify with WebCrypto directly.
        const { modulusLength } = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
        if (
          KEY_FAMILY[alg].kty === "RSA" &&
          !(typeof modulusLength === "number" && modulusLength >= 2048)
        ) {
          throw new TokenVerificationError("unknown_key", "RSA key shorter than 2048 bits");
        }
        entry.ready.set(alg, key);
        return key;
      },
      (cause: unknown) => {
        throw new TokenVerificationError("unknown_key", "the published key cannot be imported", {
          cause,
        });
      },
    );
    entry.imported.set(alg, imported);
  }
  return imported;
}

/**
 * WebCrypto parameters for each allowed alg (RFC 7518 section 3; the same table jose uses). The
 * hash of RSA keys is fixed when `importJWK` imports them for a given alg.
 */
export const VERIFY_PARAMS: Record<
  AllowedAlgorithm,
  AlgorithmIdentifier | RsaPssParams | EcdsaParams
> = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  RS384: { name: "RSASSA-PKCS1-v1_5" },
  RS512: { name: "RSASSA-PKCS1-v1_5" },
  PS256: { name: "RSA-PSS", saltLength: 32 },
  PS384: { name: "RSA-PSS", saltLength: 48 },
  PS512: { name: "RSA-PSS", saltLength: 64 },
  ES256: { name: "ECDSA", hash: "SHA-256" },
  ES384: { name: "ECDSA", hash: "SHA-384" },
  ES512: { name: "ECDSA", hash: "SHA-512" },
};

/** The public signing keys of a JWKS document; encryption keys and anything odd are skipped. */
export function parseKeySet(document: unknown): PublicSigningJwk[] {
  if (!isRecord(document) || !Array.isArray(document.keys)) {
    throw new Error("not a JSON Web Key Set");
  }
  const result: PublicSigningJwk[] = [];
  for (const candidate of document.keys) {
    const jwk = publicSigningJwk(candidate);
    if (jwk) result.push(jwk);
  }
  return result;
}

function publicSigningJwk(value: unknown): PublicSigningJwk | undefined {
  if (!isRecord(value)) return undefined;
  const { kty, kid, alg, use } = value;
  if (kty !== "RSA" && kty !== "EC") return undefined;
  if (typeof kid !== "string" || kid.length === 0) return undefined;
  if (use !== undefined && use !== "sig") return undefined;
  if (alg !== undefined && !isAllowedAlgorithm(alg)) return undefined;
  if (Array.isArray(value.key_ops) && !value.key_ops.includes("verify")) return undefined;
  // A private member means a misconfigured key: never hold or share it.
  if ("d" in value || "p" in value || "q" in value) return undefined;
  const jwk: PublicSigningJwk = { kty, kid };
  if (alg !== undefined) jwk.alg = alg;
  if (use === "sig") jwk.use = "sig";
  if (kty === "RSA") {
    if (typeof value.n !== "string" || typeof value.e !== "string") return undefined;
    jwk.n = value.n;
    jwk.e = value.e;
  } else {
    if (typeof value.crv !== "string" || typeof value.x !== "string") return undefined;
    if (typeof value.y !== "string") return undefined;
    jwk.crv = value.crv;
    jwk.x = value.x;
    jwk.y = value.y;
  }
  return jwk;
}

function parseStored(value: unknown, issuer: string): StoredKeySet | undefined {
  if (!isRecord(value) || value.v !== 1 || value.issuer !== issuer) return undefined;
  if (typeof value.fetchedAt !== "number" || !Number.isFinite(value.fetchedAt)) return undefined;
  try {
    const signingKeys = parseKeySet(value);
    return signingKeys.length > 0
      ? { v: 1, issuer, fetchedAt: value.fetchedAt, keys: signingKeys }
      : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
