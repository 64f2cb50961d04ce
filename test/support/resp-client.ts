/**
 * A small RESP2 client over node:net, just enough for the Upstash REST proxy in tests and local
 * development. Each connection pipelines: requests are written as they arrive and replies are
 * matched to callers through a FIFO, because Redis answers strictly in order on one connection.
 * Bulk strings stay Buffers so binary values survive untouched.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** An error reply from Redis (`-ERR ...`). Returned as a value inside pipelines, thrown by `command`. */
export class RespError extends Error {
  override readonly name = "RespError";
}

/**
 * Simple strings (`+OK`) are `string`, bulk strings are `Buffer`, so callers can tell status
 * replies from stored data. Integers outside the safe range come back as `bigint`.
 */
export type RespReply = string | Buffer | number | bigint | null | RespError | RespReply[];

export type RespArg = string | number | Buffer;

const CRLF = Buffer.from("\r\n");

export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Signals "not enough bytes yet"; cheaper than a result wrapper on every nested value. */
const INCOMPLETE = Symbol("incomplete");

/**
 * Incremental RESP2 parser. Feed it socket chunks; it yields every complete reply. A partial reply
 * is re-parsed from its start when more data arrives, which is fine for the reply sizes we see.
 */
export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);
  private offset = 0;

  feed(chunk: Buffer): RespReply[] {
    this.buffer =
      this.offset < this.buffer.length
        ? Buffer.concat([this.buffer.subarray(this.offset), chunk])
        : chunk;
    this.offset = 0;
    const replies: RespReply[] = [];
    while (this.offset < this.buffer.length) {
      const start = this.offset;
      const reply = this.parseValue();
      if (reply === INCOMPLETE) {
        this.offset = start;
        break;
      }
      replies.push(reply);
    }
    return replies;
  }

  private readLine(): string | typeof INCOMPLETE {
    const end = this.buffer.indexOf(CRLF, this.offset);
    if (end === -1) return INCOMPLETE;
    const line = this.buffer.toString("utf8", this.offset, end);
    this.offset = end + 2;
    return line;
  }

  private parseValue(): RespReply | typeof INCOMPLETE {
    if (this.offset >= this.buffer.length) return INCOMPLETE;
    const type = this.buffer[this.offset];
    this.offset += 1;
    const line = this.readLine();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new RespError(line);
      case 0x3a: // :
        return parseInteger(line);
      case 0x24: {
        // $
        const length = Number(line);
        if (length < 0) return null;
        if (this.buffer.length < this.offset + length + 2) return INCOMPLETE;
        // Copy so the reply does not pin the whole receive buffer in memory.
        const value = Buffer.from(this.buffer.subarray(this.offset, this.offset + length));
        this.offset += length + 2;
        return value;
      }
      case 0x2a: {
        // *
        const count = Number(line);
        if (count < 0) return null;
        const items: RespReply[] = [];
        for (let i = 0; i < count; i++) {
          const item = this.parseValue();
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item);
        }
        return items;
      }
      default:
        throw new Error(`RESP protocol error: unexpected type byte ${String(type)}`);
    }
  }
}

function parseInteger(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

export interface RedisEndpoint {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db?: number;
}

/** Parses `redis://[user[:password]@]host[:port][/db]` (and `rediss://` for TLS). */
export function parseRedisUrl(url: string): RedisEndpoint {
  const parsed = new URL(url);
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(`unsupported Redis URL scheme: ${parsed.protocol}`);
  }
  const endpoint: RedisEndpoint = {
    host: parsed.hostname || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 6379,
    tls: parsed.protocol === "rediss:",
  };
  if (parsed.username) endpoint.username = decodeURIComponent(parsed.username);
  if (parsed.password) endpoint.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, "");
  if (db) endpoint.db = Number(db);
  return endpoint;
}

interface Pending {
  resolve(reply: RespReply): void;
  reject(error: Error): void;
}

/** One socket with in-order pipelining. */
export class RespConnection {
  private readonly pending: Pending[] = [];
  private readonly parser = new RespParser();
  private closedError: Error | null = null;
  private closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    this.closedPromise = new Promise((resolve) => {
      socket.once("close", () => {
        this.fail(new Error("Redis connection closed"));
        resolve();
      });
    });
  }

  static async open(endpoint: RedisEndpoint, connectTimeoutMs = 5000): Promise<RespConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const options = { host: endpoint.host, port: endpoint.port };
      const readyEvent = endpoint.tls ? "secureConnect" : "connect";
      const candidate = endpoint.tls
        ? tlsConnect({ ...options, servername: endpoint.host })
        : netConnect(options);
      const timer = setTimeout(() => {
        candidate.destroy();
        reject(new Error(`Redis connect timeout after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      candidate.once(readyEvent, () => {
        clearTimeout(timer);
        candidate.removeListener("error", reject);
        resolve(candidate);
      });
      candidate.once("error", (error: Error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    const connection = new RespConnection(socket);
    const handshake: RespArg[][] = [];
    if (endpoint.password !== undefined) {
      handshake.push(
        endpoint.username !== undefined
          ? ["AUTH", endpoint.username, endpoint.password]
          : ["AUTH", endpoint.password],
      );
    }
    if (endpoint.db !== undefined && endpoint.db !== 0) handshake.push(["SELECT", endpoint.db]);
    if (handshake.length > 0) {
      const replies = await connection.sendBatch(handshake);
      const failure = replies.find((reply) => reply instanceof RespError);
      if (failure instanceof RespError) {
        await connection.close();
        throw failure;
      }
    }
    return connection;
  }

  get isOpen(): boolean {
    return this.closedError === null;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Writes all commands in one socket write, so no other caller's command can land in between
   * (this is what makes MULTI ... EXEC on a shared connection safe). Error replies are returned as
   * RespError values; the promise rejects only when the connection fails.
   */
  sendBatch(commands: readonly (readonly RespArg[])[]): Promise<RespReply[]> {
    if (this.closedError) return Promise.reject(this.closedError);
    const replies = commands.map(
      () =>
        new Promise<RespReply>((resolve, reject) => {
          this.pending.push({ resolve, reject });
        }),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  async close(): Promise<void> {
    if (!this.socket.destroyed) this.socket.end();
    await this.closedPromise;
  }

  private onData(chunk: Buffer): void {
    let replies: RespReply[];
    try {
      replies = this.parser.feed(chunk);
    } catch (error) {
      this.socket.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (const reply of replies) {
      const waiter = this.pending.shift();
      if (!waiter) {
        this.socket.destroy(new Error("RESP protocol error: reply without a pending request"));
        return;
      }
      waiter.resolve(reply);
    }
  }

  private fail(error: Error): void {
    if (!this.closedError) this.closedError = error;
    for (const waiter of this.pending.splice(0)) waiter.reject(error);
  }
}

/**
 * A few pipelined connections. Commands go to the least busy live connection; a broken connection
 * is dropped and replaced on the next call, so a Redis restart heals without restarting the proxy.
 */
export class RespClient {
  private readonly endpoint: RedisEndpoint;
  private readonly poolSize: number;
  private readonly connections: RespConnection[] = [];
  private opening: Promise<RespConnection> | null = null;
  private closed = false;

  constructor(redisUrl: string, options: { poolSize?: number } = {}) {
    this.endpoint = parseRedisUrl(redisUrl);
    this.poolSize = Math.max(1, options.poolSize ?? 4);
  }

  async command(...args: RespArg[]): Promise<RespReply> {
    const [reply] = await this.sendBatch([args]);
    if (reply instanceof RespError) throw reply;
    return reply ?? null;
  }

  async sendBatch(commands: readonly (readonly RespArg[])[]): Promise<RespReply[]> {
    const connection = await this.acquire();
    return connection.sendBatch(commands);
  }

  async close(): Promise<void> {
    this.closed = true;
    const opening = this.opening;
    if (opening) await opening.then((c) => c.close()).catch(() => undefined);
    await Promise.all(this.connections.splice(0).map((c) => c.close()));
  }

  private async acquire(): Promise<RespConnection> {
    if (this.closed) throw new Error("RespClient is closed");
    for (let i = this.connections.length - 1; i >= 0; i--) {
      const candidate = this.connections[i];
      if (candidate && !candidate.isOpen) this.connections.splice(i, 1);
    }
    let best: RespConnection | undefined;
    for (const candidate of this.connections) {
      if (!best || candidate.pendingCount < best.pendingCount) best = candidate;
    }
    if (best && (best.pendingCount === 0 || this.connections.length >= this.poolSize)) return best;
    if (this.opening) return best ?? this.opening;
    this.opening = RespConnection.open(this.endpoint);
    try {
      const connection = await this.opening;
      if (this.closed) {
        await connection.close();
        throw new Error("RespClient is closed");
      }
      this.connections.push(connection);
      return connection;
    } finally {
      this.opening = null;
    }
  }
}
