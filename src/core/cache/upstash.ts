import { Redis } from "@upstash/redis";
import type { CircuitBreaker } from "./circuit-breaker";
import { CacheUnavailableError } from "./errors";
import type { CacheKey } from "./keys";
import type { Cache } from "./port";

export interface UpstashCacheOptions {
  /**
   * Budget for one round trip to Upstash. A slow Redis must not make every request slow, so the
   * call fails with CacheUnavailableError and the caller falls back (fail open or closed).
   */
  timeoutMs?: number;
  /** Shared with the rate limiter (same Redis): after a failure, calls fail fast for a while. */
  breaker?: CircuitBreaker;
}

export interface UpstashRedisConfig {
  url: string;
  token: string;
  /** Aborts the underlying fetch after this long, so timed-out requests do not linger. */
  timeoutMs?: number;
}

export const DEFAULT_UPSTASH_TIMEOUT_MS = 250;
const SCAN_COUNT = 500;

/**
 * Builds the `@upstash/redis` client the adapter expects. Automatic deserialisation is off because
 * it JSON-parses every reply, turning a stored string "123" into the number 123; the adapter
 * encodes and decodes JSON itself. Retries are off: a retried INCRBY could count twice, and
 * retry backoff would blow the timeout budget anyway.
 */
export function createUpstashRedis(config: UpstashRedisConfig): Redis {
  const { timeoutMs } = config;
  return new Redis({
    url: config.url,
    token: config.token,
    automaticDeserialization: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
    latencyLogging: false,
    retry: { retries: 0 },
    // A function, so each request gets a fresh signal; a shared signal would stay aborted.
    ...(timeoutMs !== undefined ? { signal: () => AbortSignal.timeout(timeoutMs) } : {}),
  });
}

/** Cache over the Upstash REST API (Upstash itself, or any REST-compatible proxy). */
export class UpstashCache implements Cache {
  readonly kind = "upstash" as const;
  private readonly timeoutMs: number;
  private readonly breaker: CircuitBreaker | undefined;

  /** `redis` should come from createUpstashRedis (automatic deserialisation off). */
  constructor(
    private readonly redis: Redis,
    options: UpstashCacheOptions = {},
  ) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTASH_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
    this.timeoutMs = timeoutMs;
    this.breaker = options.breaker;
  }

  async get<T>(key: CacheKey): Promise<T | null> {
    const raw = await this.call("get", () => this.redis.get<string>(key));
    return decode<T>(raw);
  }

  async getMany<T>(keys: readonly CacheKey[]): Promise<(T | null)[]> {
    if (keys.length === 0) return [];
    const raw = await this.call("getMany", () => this.redis.mget<(string | null)[]>([...keys]));
    return raw.map((value) => decode<T>(value));
  }

  async set(key: CacheKey, value: unknown, options: { ttlSeconds: number }): Promise<void> {
    const text = encode(value);
    assertTtl(options.ttlSeconds);
    await this.call("set", () => this.redis.set(key, text, { ex: options.ttlSeconds }));
  }

  async setIfAbsent(
    key: CacheKey,
    value: unknown,
    options: { ttlSeconds: number },
  ): Promise<boolean> {
    const text = encode(value);
    assertTtl(options.ttlSeconds);
    const reply = await this.call("setIfAbsent", () =>
      this.redis.set(key, text, { nx: true, ex: options.ttlSeconds }),
    );
    return reply === "OK";
  }

  async delete(...keys: CacheKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.call("delete", () => this.redis.del(...keys));
  }

  async deleteByPrefix(prefix: CacheKey): Promise<number> {
    const match = `${escapeGlob(prefix)}*`;
    // Each round trip gets its own budget: a large prefix legitimately needs many of them.
    let [cursor, page] = toScanReply(
      await this.call("deleteByPrefix", () => this.redis.scan(0, { match, count: SCAN_COUNT })),
    );
    let deleted = 0;
    while (cursor !== "0") {
      // Delete this page and fetch the next one in the same round trip.
      const pipeline = this.redis.pipeline();
      if (page.length > 0) pipeline.del(...page);
      pipeline.scan(cursor, { match, count: SCAN_COUNT });
      const replies = await this.call("deleteByPrefix", () => pipeline.exec());
      if (page.length > 0) deleted += toInteger(replies[0], "deleteByPrefix");
      [cursor, page] = toScanReply(replies[replies.length - 1]);
    }
    if (page.length > 0) {
      const keys = page;
      deleted += await this.call("deleteByPrefix", () => this.redis.del(...keys));
    }
    return deleted;
  }

  async increment(key: CacheKey, options: { ttlSeconds: number; by?: number }): Promise<number> {
    const by = options.by ?? 1;
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment must be an integer: ${by}`);
    assertTtl(options.ttlSeconds);
    // MULTI so the counter never exists without its TTL; NX so later calls do not extend it.
    const [value] = await this.call("increment", () =>
      this.redis.multi().incrby(key, by).expire(key, options.ttlSeconds, "NX").exec(),
    );
    return toInteger(value, "increment");
  }

  async ttl(key: CacheKey): Promise<number | null> {
    const seconds = await this.call("ttl", () => this.redis.ttl(key));
    // -2: no such key; -1: key without expiry.
    return seconds < 0 ? null : seconds;
  }

  async ping(): Promise<void> {
    await this.call("ping", () => this.redis.ping());
  }

  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const { breaker } = this;
    if (breaker && !breaker.allow()) {
      throw new CacheUnavailableError(operation, "backend", {
        detail: "skipped: Redis circuit open",
      });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new CacheUnavailableError(operation, "timeout", { timeoutMs: this.timeoutMs })),
        this.timeoutMs,
      );
    });
    try {
      const result = await Promise.race([run(), timeout]);
      breaker?.success();
      return result;
    } catch (error) {
      const unavailable = this.unavailable(operation, error);
      // A data error (INCRBY on text) says nothing about Redis's health; only transport does.
      if (unavailable.reason === "timeout" || !/ERR|WRONGTYPE/.test(unavailable.message))
        breaker?.failure();
      throw unavailable;
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailable(operation: string, error: unknown): CacheUnavailableError {
    if (error instanceof CacheUnavailableError) return error;
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      return new CacheUnavailableError(operation, "timeout", {
        cause: error,
        timeoutMs: this.timeoutMs,
      });
    }
    // @upstash/redis appends the whole command, values included, to its HTTP error messages;
    // cached data (possibly personal) must not reach the logs, so neither message nor cause
    // carries it.
    const message = error instanceof Error ? error.message : String(error);
    const detail = message.split(", command was: ")[0] ?? message;
    const cause =
      detail === message ? error : Object.assign(new Error(detail), { name: name || "Error" });
    return new CacheUnavailableError(operation, "backend", { cause, detail });
  }
}

function encode(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError("cache values must be JSON-serialisable");
  return text;
}

function decode<T>(raw: unknown): T | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== "string") return raw as T;
  try {
    return JSON.parse(raw) as T;
  } catch {
    // Written by something other than this adapter; hand it back untouched.
    return raw as T;
  }
}

function assertTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${String(ttlSeconds)}`);
  }
}

function toInteger(value: unknown, operation: string): number {
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) {
    throw new CacheUnavailableError(operation, "backend", {
      detail: `expected an integer reply, got ${typeof value}`,
    });
  }
  return number;
}

function toScanReply(value: unknown): [string, string[]] {
  if (!Array.isArray(value) || value.length !== 2 || !Array.isArray(value[1])) {
    throw new CacheUnavailableError("deleteByPrefix", "backend", {
      detail: "malformed SCAN reply",
    });
  }
  return [String(value[0]), value[1].map(String)];
}

/** SCAN MATCH is a glob: a literal prefix must not be able to widen the match. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
