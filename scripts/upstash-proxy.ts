/**
 * Local development: serve the Upstash REST protocol in front of a real Redis, so the API can run
 * with the Upstash cache adapter without an Upstash account or Docker (see ADR 0005).
 *
 *   bun scripts/upstash-proxy.ts
 *   UPSTASH_REDIS_REST_URL=<printed url> UPSTASH_REDIS_REST_TOKEN=local-dev-token bun src/server.ts
 */
import { startUpstashProxy } from "../test/support/upstash-proxy";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const token = process.env.UPSTASH_PROXY_TOKEN ?? "local-dev-token";
const port = Number(process.env.UPSTASH_PROXY_PORT ?? 8079);
// Loopback unless told otherwise (a container must listen on 0.0.0.0 to be reachable).
const host = process.env.UPSTASH_PROXY_HOST ?? "127.0.0.1";

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

const proxy = await startUpstashProxy({ redisUrl, token, port, host });
console.log(`Upstash REST proxy listening on ${proxy.url} → ${redact(redisUrl)}`);
// The token is printed only while it is the well-known development one: anything else is a
// secret, and this output ends up in container logs.
const shownToken = token === "local-dev-token" ? token : "<your UPSTASH_PROXY_TOKEN>";
console.log(`UPSTASH_REDIS_REST_URL=${proxy.url} UPSTASH_REDIS_REST_TOKEN=${shownToken}`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await proxy.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
