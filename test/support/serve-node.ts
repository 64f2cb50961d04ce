import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface NodeServer {
  /** The origin the server listens on, e.g. `http://127.0.0.1:43123`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a fetch handler (the app's `app.fetch`) over real HTTP on a random local port, for the
 * tests a browser or another process must reach. Node has no Request/Response server of its own,
 * and `@hono/node-server` is not a dependency: this adapter is all the tests need.
 */
export async function serve(fetch: FetchHandler): Promise<NodeServer> {
  const server = createServer((req, res) => {
    handle(fetch, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // A browser keeps connections alive: without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function handle(fetch: FetchHandler, req: IncomingMessage, res: ServerResponse) {
  const response = await fetch(await toRequest(req));
  const headers: [string, string][] = [];
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) headers.push(["set-cookie", cookie]);
  // Fetch responses mostly carry no status text; Node's standard one is better than an empty one.
  res.writeHead(response.status, response.statusText || STATUS_CODES[response.status], headers);
  if (response.body && req.method !== "HEAD") {
    const reader = response.body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      res.write(chunk.value);
    }
  }
  res.end();
}

async function toRequest(req: IncomingMessage): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
  if (req.method === "GET" || req.method === "HEAD") return new Request(url, { headers });
  // Buffered, not streamed: test requests are small, and a buffer needs no `duplex` option.
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new Request(url, { method: req.method, headers, body: Buffer.concat(chunks) });
}
