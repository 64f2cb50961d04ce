import type { GuestAccess } from "../auth/guest-sessions";

/**
 * What the warm-read fast lane (./fast-lane.ts) hands to the slow path when it has started a
 * request it does not finish: the moment the request arrived, and the guest admission it already
 * made, so the guest gate does not admit (count) the request a second time.
 */
export interface LaneHandoff {
  /** `performance.now()` when the lane took the request: X-Process-Time and the log count from it. */
  readonly started: number;
  /** The outcome of `guestSessions.admit`: its answer, or what it threw. */
  readonly admission: { readonly access: GuestAccess } | { readonly error: unknown };
}

/** Keyed by the request object itself: an entry lives exactly as long as its request. */
const handoffs = new WeakMap<Request, LaneHandoff>();

export function handOver(request: Request, handoff: LaneHandoff): void {
  handoffs.set(request, handoff);
}

/**
 * The handoff of this request, if the fast lane started it, removed as it is read: the slow path
 * (requestContext, its first middleware) takes it once, so a request object sent again cannot
 * reuse an admission.
 */
export function takeHandoff(request: Request): LaneHandoff | undefined {
  const handoff = handoffs.get(request);
  if (handoff !== undefined) handoffs.delete(request);
  return handoff;
}
