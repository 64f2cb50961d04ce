/**
 * The ceiling for bench/run.mjs: a bare `Bun.serve` answering every request with a response
 * captured from the real app (same status, same headers less Date/Content-Length, which Bun adds,
 * and byte-identical body). Nothing else runs per request.
 *
 *   BARE_RESPONSE_FILE=response.json PORT=8123 bun bench/bare-server.ts
 */

export {};

interface CapturedResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

const file = process.env.BARE_RESPONSE_FILE;
if (!file) throw new Error("BARE_RESPONSE_FILE is required");
const captured = (await Bun.file(file).json()) as CapturedResponse;
const headers: Record<string, string> = Object.fromEntries(captured.headers);
const { body, status } = captured;

const server = Bun.serve({
  hostname: process.env.HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch: () => new Response(body, { status, headers }),
});
console.log(JSON.stringify({ ready: true, port: server.port }));

const stop = () => {
  void server.stop(true);
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
