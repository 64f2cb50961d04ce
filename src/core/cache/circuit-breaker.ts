/**
 * Stops calling Redis for a moment once it has failed, so an outage costs each request nothing
 * instead of a full timeout per Redis call. Shared by the cache and the rate limiter, which use
 * the same Redis. After `openMs` one trial call goes through (half-open); its success closes the
 * breaker, its failure opens it again.
 */
export class CircuitBreaker {
  private openUntil = 0;
  private trialInFlight = false;

  constructor(
    private readonly options: { openMs: number; now?: () => number } = { openMs: 2000 },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** True when a call may go to Redis now. */
  allow(): boolean {
    if (this.openUntil === 0) return true;
    if (this.now() < this.openUntil || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.openUntil = 0;
    this.trialInFlight = false;
  }

  failure(): void {
    this.openUntil = this.now() + this.options.openMs;
    this.trialInFlight = false;
  }

  get state(): "closed" | "open" | "half-open" {
    if (this.openUntil === 0) return "closed";
    return this.now() < this.openUntil ? "open" : "half-open";
  }
}
