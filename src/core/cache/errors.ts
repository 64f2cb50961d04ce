/**
 * The backend did not answer in time or answered with a failure. Callers catch this one type to
 * decide per use case whether to fail open (serve without the cache, allow the request) or closed
 * (refuse, e.g. a rate limit on login), without knowing which adapter is configured.
 */
export class CacheUnavailableError extends Error {
  override readonly name = "CacheUnavailableError";
  /** `timeout`: no answer within the adapter's budget; `backend`: transport or Redis error. */
  readonly reason: "timeout" | "backend";
  /** The cache operation that failed, e.g. `get` or `increment`. */
  readonly operation: string;

  constructor(
    operation: string,
    reason: "timeout" | "backend",
    options: { cause?: unknown; timeoutMs?: number; detail?: string } = {},
  ) {
    const detail =
      options.detail ??
      (reason === "timeout"
        ? `no answer within ${options.timeoutMs ?? "?"} ms`
        : describeCause(options.cause));
    super(`cache ${operation} failed: ${detail}`, { cause: options.cause });
    this.reason = reason;
    this.operation = operation;
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return cause === undefined ? "backend error" : String(cause);
}
