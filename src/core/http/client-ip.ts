import type { Context } from "hono";

/** How the runtime reports the peer: Bun's socket address, Workers' CF-Connecting-IP. */
export type SocketAddress = (c: Context) => string | undefined;

/**
 * The client's address. `X-Forwarded-For` is believed only when TRUSTED_PROXY_COUNT says how
 * many proxies we sit behind: then the client is the entry that many hops from the right (the
 * left-most entries are whatever the client chose to send).
 */
export function clientIpOf(
  c: Context,
  socketAddress: SocketAddress,
  trustedProxyCount: number,
): string {
  const peer = socketAddress(c) ?? "unknown";
  if (trustedProxyCount === 0) return peer;
  const forwarded = c.req.header("x-forwarded-for");
  if (!forwarded) return peer;
  const hops = forwarded
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean);
  return hops[hops.length - trustedProxyCount] ?? hops[0] ?? peer;
}
