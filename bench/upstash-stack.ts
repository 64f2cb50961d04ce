/**
 * Upstash mode for bench/run.mjs: the project's Upstash-REST proxy (test/support/upstash-proxy.ts)
 * in front of a Redis, with a tiny counting forwarder in front of the proxy. The app under test is
 * pointed at the forwarder, so every HTTP round trip it makes to "Upstash" is counted here, along
 * with the Redis commands each one carries (a pipeline or MULTI carries several in one trip).
 *
 *   BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_PROXY_PORT=0 BENCH_FORWARDER_PORT=8124 \
 *     bun bench/upstash-stack.ts
 *
 * GET /__bench/stats on the forwarder returns the counters (never forwarded, not authenticated:
 * it listens on loopback only and exists only for the bench's lifetime).
 */
import { startUpstashProxy } from "../test/support/upstash-proxy";

const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const token = process.env.BENCH_PROXY_TOKEN ?? "bench-token";
const host = "127.0.0.1";

const proxy = await startUpstashProxy({
  redisUrl,
  token,
  host,
  port: Number(process.env.BENCH_PROXY_PORT ?? 0),
});

const stats = {
  httpRequests: 0,
  commands: 0,
  byPath: {} as Record<string, number>,
  byCommand: {} as Record<string, number>,
};

function bump(table: Record<string, number>, key: string, by = 1): void {
  table[key] = (table[key] ?? 0) + by;
}

/** Counts the commands in one Upstash REST body: `/` has one, `/pipeline` and `/multi-exec` many. */
function tally(path: string, body: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    bump(stats.byCommand, "(unparsable)");
    return;
  }
  const commands: unknown[] = path === "/" ? [parsed] : Array.isArray(parsed) ? parsed : [];
  for (const command of commands) {
    const name = Array.isArray(command) ? String(command[0] ?? "?").toLowerCase() : "?";
    bump(stats.byCommand, name);
    stats.commands += 1;
  }
}

const forwarder = Bun.serve({
  hostname: host,
  port: Number(process.env.BENCH_FORWARDER_PORT ?? 0),
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/stats") return Response.json(stats);
    const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
    const path = url.pathname.replace(/\/+$/, "") || "/";
    stats.httpRequests += 1;
    bump(stats.byPath, path);
    tally(path, body);
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "content-type", "upstash-encoding"]) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const upstream = await fetch(`${proxy.url}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      ...(body ? { body } : {}),
    });
    return new Response(await upstream.arrayBuffer(), {
      status: upstream.status,
      headers: { "content-type": upstream.headers.get("content-type") ?? "application/json" },
    });
  },
});

console.log(
  JSON.stringify({ ready: true, url: `http://${host}:${forwarder.port}`, proxy: proxy.url }),
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  void forwarder.stop(true);
  await proxy.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
