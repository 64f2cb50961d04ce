import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/core/cache/circuit-breaker";

describe("circuit breaker", () => {
  it("opens on failure, lets one trial through after the pause, and closes on success", () => {
    let now = 1_000;
    const breaker = new CircuitBreaker({ openMs: 500, now: () => now });
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
    now += 500;
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false); // one trial at a time
    breaker.success();
    expect(breaker.state).toBe("closed");
    expect(breaker.allow()).toBe(true);
  });

  it("re-opens when the trial fails", () => {
    let now = 0;
    const breaker = new CircuitBreaker({ openMs: 100, now: () => now });
    breaker.failure();
    now = 100;
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.allow()).toBe(false);
    expect(breaker.state).toBe("open");
  });
});
