/**
 * An Upstash-REST-compatible HTTP proxy in front of a real Redis, speaking the same protocol as
 * `serverless-redis-http` so `@upstash/redis` and `@upstash/ratelimit` can run against the
 * machine's Redis in tests and local development without Docker. See ADR 0005.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RespArg, RespClient, RespError, type RespReply } from "./resp-client";

export interface UpstashProxyOptions {
  redisUrl: string;
  token: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

export interface UpstashProxy {
  url: string;
  token: string;
  close(): Promise<void>;
}

const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Upstash accepts `#!lua flags=allow-key-locking`; Redis 7 rejects the unknown flag. Returns the
 * script with Upstash-only flags removed from the shebang (other flags kept, an emptied `flags=`
 * dropped, `#!lua` itself kept so line numbers in Lua errors stay the same), or null when the
 * script needs no change.
 */
export function rewriteScriptFlags(script: string): string | null {
  if (!script.startsWith("#!")) return null;
  const newline = script.indexOf("\n");
  const lineEnd = newline === -1 ? script.length : newline;
  const contentEnd = script[lineEnd - 1] === "\r" ? lineEnd - 1 : lineEnd;
  const line = script.slice(0, contentEnd);
  const [engine = "#!lua", ...params] = line.split(/[ \t]+/);
  let changed = false;
  const kept: string[] = [];
  for (const param of params) {
    if (!param.toLowerCase().startsWith("flags=")) {
      if (param) kept.push(param);
      continue;
    }
    const flags = param.slice("flags=".length).split(",");
    const remaining = flags.filter((flag) => !UPSTASH_ONLY_FLAGS.has(flag.trim().toLowerCase()));
    if (remaining.length === flags.length) {
      kept.push(param);
      continue;
    }
    changed = true;
    const nonEmpty = remaining.filter((flag) => flag.trim() !== "");
    if (nonEmpty.length > 0) kept.push(`flags=${nonEmpty.join(",")}`);
  }
  if (!changed) return null;
  return [engine, ...kept].join(" ") + script.slice(contentEnd);
}

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

type JsonOut = string | number | bigint | null | JsonOut[] | { [key: string]: JsonOut };

/** JSON.stringify cannot emit bigint; Redis integers may exceed 2^53, so they are written raw. */
function toJson(value: JsonOut): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  const fields = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`);
  return `{${fields.join(",")}}`;
}

function encodeReply(reply: RespReply, base64: boolean): JsonOut {
  if (reply === null || typeof reply === "number" || typeof reply === "bigint") return reply;
  if (reply instanceof RespError) return encodeReply(reply.message, base64);
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64));
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  return base64 ? Buffer.from(reply, "utf8").toString("base64") : reply;
}

function entry(reply: RespReply, base64: boolean): { result: JsonOut } | { error: string } {
  return reply instanceof RespError
    ? { error: reply.message }
    : { result: encodeReply(reply, base64) };
}

class BadRequest extends Error {}

function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR command must be a non-empty JSON array");
  }
  return value.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequest("ERR command arguments must be strings or numbers");
  });
}

/**
 * Commands that would change per-connection state or hold a pooled connection hostage. The
 * proxy shares connections between requests, so these would leak into other callers.
 */
const UNSUPPORTED = new Set([
  "AUTH",
  "HELLO",
  "SELECT",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "MONITOR",
  "QUIT",
  "RESET",
  "CLIENT",
]);

interface Prepared {
  args: RespArg[];
  /** Post-processes the reply, e.g. to hand the client back the SHA it computed itself. */
  mapReply?: (reply: RespReply) => RespReply;
}

class ScriptRegistry {
  /** SHA1 of the script the client sent → SHA1 of the rewritten script Redis knows. */
  private readonly shas = new Map<string, string>();

  rewrite(script: string): { script: string; originalSha: string } | null {
    const rewritten = rewriteScriptFlags(script);
    if (rewritten === null) return null;
    const originalSha = sha1Hex(script);
    this.shas.set(originalSha, sha1Hex(rewritten));
    return { script: rewritten, originalSha };
  }

  translate(sha: string): string {
    return this.shas.get(sha.toLowerCase()) ?? sha;
  }

  prepare(command: string[]): Prepared {
    const [name = "", ...rest] = command;
    const upper = name.toUpperCase();
    if (UNSUPPORTED.has(upper)) {
      throw new BadRequest(`ERR command ${upper} is not supported by the Upstash REST proxy`);
    }
    if ((upper === "EVAL" || upper === "EVAL_RO") && rest[0] !== undefined) {
      const rewritten = this.rewrite(rest[0]);
      if (rewritten) return { args: [name, rewritten.script, ...rest.slice(1)] };
    }
    if ((upper === "EVALSHA" || upper === "EVALSHA_RO") && rest[0] !== undefined) {
      return { args: [name, this.translate(rest[0]), ...rest.slice(1)] };
    }
    if (upper === "SCRIPT" && rest[0] !== undefined) {
      const sub = rest[0].toUpperCase();
      if (sub === "LOAD" && rest[1] !== undefined) {
        const rewritten = this.rewrite(rest[1]);
        if (rewritten) {
          const { originalSha } = rewritten;
          return {
            args: [name, rest[0], rewritten.script],
            // Clients call EVALSHA with the SHA of the text they sent, so report that one.
            mapReply: (reply) => (reply instanceof RespError ? reply : originalSha),
          };
        }
      }
      if (sub === "EXISTS") {
        return { args: [name, rest[0], ...rest.slice(1).map((sha) => this.translate(sha))] };
      }
    }
    return { args: command };
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest("ERR request body too large");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: JsonOut): void {
  const text = toJson(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function isAuthorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/i.exec(header ?? "");
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startUpstashProxy(options: UpstashProxyOptions): Promise<UpstashProxy> {
  if (!options.token) throw new Error("startUpstashProxy: token must not be empty");
  const redis = new RespClient(options.redisUrl);
  // Fail at start-up, not on the first request, when Redis is not reachable.
  await redis.command("PING");
  const scripts = new ScriptRegistry();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isAuthorized(req.headers.authorization, options.token)) {
      send(res, 401, { error: "Unauthorized" });
      return;
    }
    const path = new URL(req.url ?? "/", "http://proxy").pathname.replace(/\/+$/, "") || "/";
    if (req.method !== "POST" || !["/", "/pipeline", "/multi-exec"].includes(path)) {
      send(res, 404, { error: "ERR only POST /, /pipeline and /multi-exec are supported" });
      return;
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";

    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      const message = error instanceof BadRequest ? error.message : "ERR failed to parse JSON body";
      send(res, 400, { error: message });
      return;
    }

    try {
      if (path === "/") {
        const prepared = scripts.prepare(parseCommand(body));
        const [raw = null] = await redis.sendBatch([prepared.args]);
        const reply = prepared.mapReply ? prepared.mapReply(raw) : raw;
        if (reply instanceof RespError) send(res, 400, { error: reply.message });
        else send(res, 200, { result: encodeReply(reply, base64) });
        return;
      }

      if (!Array.isArray(body) || body.length === 0) {
        throw new BadRequest("ERR pipeline body must be a non-empty array of commands");
      }
      const prepared = body.map((command) => scripts.prepare(parseCommand(command)));

      if (path === "/pipeline") {
        const replies = await redis.sendBatch(prepared.map((p) => p.args));
        send(
          res,
          200,
          replies.map((raw, i) => {
            const mapReply = prepared[i]?.mapReply;
            return entry(mapReply ? mapReply(raw) : raw, base64);
          }),
        );
        return;
      }

      // One socket write, so MULTI ... EXEC cannot interleave with other requests' commands.
      const replies = await redis.sendBatch([["MULTI"], ...prepared.map((p) => p.args), ["EXEC"]]);
      const exec = replies[replies.length - 1] ?? null;
      if (exec instanceof RespError || !Array.isArray(exec)) {
        // EXECABORT: a command was rejected while queueing; report that command's error.
        const queued = replies.slice(1, -1).find((reply) => reply instanceof RespError);
        const reason = queued instanceof RespError ? `${queued.message}` : "";
        const message = exec instanceof RespError ? exec.message : "ERR transaction aborted";
        send(res, 400, { error: reason ? `${message} (${reason})` : message });
        return;
      }
      send(
        res,
        200,
        exec.map((raw, i) => {
          const mapReply = prepared[i]?.mapReply;
          return entry(mapReply ? mapReply(raw) : raw, base64);
        }),
      );
    } catch (error) {
      if (error instanceof BadRequest) {
        send(res, 400, { error: error.message });
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      send(res, 500, { error: `ERR proxy could not reach Redis: ${message}` });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `ERR proxy failure: ${String(error)}` });
      else res.destroy();
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    token: options.token,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets from fetch would otherwise hold close() open.
        server.closeAllConnections();
      });
      await redis.close();
    },
  };
}
