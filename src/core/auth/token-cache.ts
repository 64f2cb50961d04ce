import { sha256KeySync } from "./token-hash";

/**
 * Tokens this process has already verified, so a client sending the same token again costs a
 * hash and a map lookup instead of a signature check.
 *
 * The key is the SHA-256 of the token's signature segment, the only part of a JWT that is a
 * secret: header and payload are readable by anyone holding the token, and the claims they encode
 * are stored in the entry anyway. The entry also keeps that header.payload text, and a hit
 * requires the presented token to match it exactly, so a hit means the very same token. The
 * signature itself is never stored, so a heap dump yields no usable token. Hashing ~350 signature
 * characters instead of the whole 1-2 KB token is what keeps a hit within a few microseconds.
 */
export interface TokenCacheEntry<T> {
  /** The token's `header.payload` text (an own copy, see `ownCopy`). */
  signedPart: string;
  /** The token's `exp` in ms: the entry never outlives the token. */
  expiresAtMs: number;
  realm: string;
  kid: string;
  value: T;
}

interface Stored<T> extends TokenCacheEntry<T> {
  /** Insertion sequence number, for the second-chance eviction below. */
  seq: number;
}

export class VerifiedTokenCache<T> {
  private readonly entries = new Map<string, Stored<T>>();
  private seq = 0;

  constructor(private readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cache key of a well-formed compact JWS (`signatureStart` is the index after the last dot). */
  static keyOf(token: string, signatureStart: number): string {
    return sha256KeySync(token.slice(signatureStart));
  }

  get(key: string, token: string, now: number): TokenCacheEntry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    const { signedPart } = entry;
    if (token.length <= signedPart.length || token.charCodeAt(signedPart.length) !== 46) {
      return undefined;
    }
    if (!token.startsWith(signedPart)) return undefined;
    // LRU-ish: the Map's insertion order is the eviction order, and an entry in use moves back to
    // the young end once it has drifted past half of the bound. Moving it on every hit would
    // churn the Map on the hottest path for no benefit.
    if (this.seq - entry.seq > this.maxEntries >> 1) {
      this.entries.delete(key);
      entry.seq = ++this.seq;
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: TokenCacheEntry<T>): void {
    this.entries.delete(key);
    this.entries.set(key, { ...entry, signedPart: ownCopy(entry.signedPart), seq: ++this.seq });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /** Forgets every token verified with keys that are no longer published. */
  dropKeys(realm: string, kids: readonly string[]): number {
    const removed = new Set(kids);
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      if (entry.realm === realm && removed.has(entry.kid)) {
        this.entries.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A slice of the request's token may share memory with the whole token (V8 and JSC both make
 * substrings that point into their parent), which would keep the signature alive in the cache.
 * Parsing a JSON string literal always builds a fresh string.
 */
function ownCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}
