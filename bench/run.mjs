#!/usr/bin/env node
/**
 * `npm run bench`: the warm guest path `GET /api/v1/currencies?page=1&page_size=20` on the Bun
 * server against a bare `Bun.serve` returning the same bytes, plus the Upstash mode's throughput
 * and Redis round trips per warm request. See bench/README.md for the method.
 *
 * Options (flags or env): --duration=S (BENCH_DURATION, 10), --rounds=N (BENCH_ROUNDS, 3),
 * --warmup=S (BENCH_WARMUP, 3), --connections=N (BENCH_CONNECTIONS, 50),
 * --sequential=N (BENCH_SEQUENTIAL, 2000), --profile (BENCH_PROFILE=1: also a `bun --cpu-prof-md`
 * profile of the app under load, into bench/.profiles/; --profile-log-level=info profiles the
 * app-info target's configuration instead, --profile-signed-in the app-auth target's,
 * --profile-upstash the app-upstash target's),
 * --sections (BENCH_SECTIONS=1: also run
 * bench/sections.ts, the in-process cost breakdown), --no-token-verify (BENCH_TOKEN_VERIFY=0: skip
 * the token verification micro-benchmark, bench/token-verify.bench.ts, which runs by default),
 * --no-append (BENCH_NO_APPEND=1), --database=postgres|embedded (BENCH_DATABASE, postgres when
 * reachable).
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, "..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const PATH_UNDER_TEST = "/api/v1/currencies?page=1&page_size=20";
const HOST = "127.0.0.1";
const GENERATOR_CPU = "0";
const SERVER_CPU = "1";

// ---------------------------------------------------------------------------------------------
// Options

function option(name, envName, fallback) {
  const prefix = `--${name}=`;
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith(prefix)) return args[i].slice(prefix.length);
    if (args[i] === `--${name}`) {
      const next = args[i + 1];
      return next === undefined || next.startsWith("--") ? "1" : next;
    }
  }
  const fromEnv = process.env[envName];
  return fromEnv === undefined || fromEnv === "" ? fallback : fromEnv;
}

function positiveInt(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer`);
  return n;
}

const opts = {
  duration: positiveInt("duration", option("duration", "BENCH_DURATION", "10")),
  rounds: positiveInt("rounds", option("rounds", "BENCH_ROUNDS", "3")),
  warmup: positiveInt("warmup", option("warmup", "BENCH_WARMUP", "3")),
  connections: positiveInt("connections", option("connections", "BENCH_CONNECTIONS", "50")),
  sequential: positiveInt("sequential", option("sequential", "BENCH_SEQUENTIAL", "2000")),
  profile: ["1", "true", "yes"].includes(option("profile", "BENCH_PROFILE", "0")),
  profileLogLevel: option("profile-log-level", "BENCH_PROFILE_LOG_LEVEL", "warn"),
  profileSignedIn: ["1", "true", "yes"].includes(
    option("profile-signed-in", "BENCH_PROFILE_SIGNED_IN", "0"),
  ),
  profileUpstash: ["1", "true", "yes"].includes(
    option("profile-upstash", "BENCH_PROFILE_UPSTASH", "0"),
  ),
  sections: ["1", "true", "yes"].includes(option("sections", "BENCH_SECTIONS", "0")),
  tokenVerify:
    !["1", "true", "yes"].includes(option("no-token-verify", "BENCH_NO_TOKEN_VERIFY", "0")) &&
    !["0", "false", "no"].includes(option("token-verify", "BENCH_TOKEN_VERIFY", "1")),
  append: !["1", "true", "yes"].includes(option("no-append", "BENCH_NO_APPEND", "0")),
  database: option("database", "BENCH_DATABASE", "auto"),
};
if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("*/")[0]);
  process.exit(0);
}

// Every child is wrapped in coreutils `timeout` with this budget, so nothing outlives the bench
// even if this process is SIGKILLed. Generous: embedded PGlite start-up alone can take a minute.
const TARGET_COUNT = 5;
const LOAD_SECONDS =
  TARGET_COUNT * (opts.warmup + opts.rounds * opts.duration) +
  (opts.profile ? 20 : 0) +
  (opts.sections ? 120 : 0) +
  (opts.tokenVerify ? 60 : 0);
const BUDGET_SECONDS = LOAD_SECONDS + 600;

// ---------------------------------------------------------------------------------------------
// Process and resource bookkeeping: everything started is stopped in cleanup(), whatever happens.

const children = [];
const cleanups = [];
let cleaning;
let interrupted = false;
const log = (message) => console.error(`[bench] ${message}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function has(binary) {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `command` in its own process group under `timeout` (hard bound) and, when `cpu` is set
 * and taskset exists, pinned to that core. Output goes to a file, never through this process.
 */
function start(name, command, args, { cpu, env, logFile, budget = BUDGET_SECONDS } = {}) {
  const wrapped = ["-k", "5", `${budget}s`];
  if (cpu !== undefined && tools.taskset) wrapped.push("taskset", "-c", cpu);
  wrapped.push(command, ...args);
  const out = logFile ? openSync(logFile, "a") : "ignore";
  const child = spawn("timeout", wrapped, {
    cwd: ROOT,
    env: env ?? process.env,
    detached: true,
    stdio: ["ignore", out, out],
  });
  if (typeof out === "number") closeSync(out);
  const entry = { name, child, logFile, exited: false, code: null };
  child.on("exit", (code, signal) => {
    entry.exited = true;
    entry.code = code ?? signal;
  });
  children.push(entry);
  return entry;
}

/** The real process (bun, wrk, …) under `timeout` (taskset execs, so it is timeout's child). */
async function innerPid(entry, waitMs = 5000) {
  const deadline = Date.now() + waitMs;
  const file = `/proc/${entry.child.pid}/task/${entry.child.pid}/children`;
  while (Date.now() < deadline) {
    try {
      const pid = Number(readFileSync(file, "utf8").trim().split(/\s+/)[0]);
      if (pid > 0) return pid;
    } catch {}
    if (entry.exited) break;
    await sleep(20);
  }
  throw new Error(`${entry.name}: could not find its process (exited: ${entry.exited})`);
}

async function stop(entry, signal = "SIGTERM", graceMs = 5000) {
  if (entry.exited) return;
  try {
    process.kill(-entry.child.pid, signal);
  } catch {}
  const deadline = Date.now() + graceMs;
  while (!entry.exited && Date.now() < deadline) await sleep(25);
  if (!entry.exited) {
    try {
      process.kill(-entry.child.pid, "SIGKILL");
    } catch {}
    const hard = Date.now() + 2000;
    while (!entry.exited && Date.now() < hard) await sleep(25);
  }
}

function cleanup() {
  cleaning ??= (async () => {
    await Promise.all(children.map((entry) => stop(entry)));
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        log(`cleanup step failed: ${error instanceof Error ? error.message : error}`);
      }
    }
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    interrupted = true;
    log(`${signal}: stopping every child and cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
// The bench must stop by itself even if something hangs.
const watchdog = setTimeout(() => {
  log(`watchdog: ${BUDGET_SECONDS}s budget exceeded, aborting`);
  void cleanup().finally(() => process.exit(2));
}, BUDGET_SECONDS * 1000);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Tools, machine, ports

const tools = { taskset: has("taskset"), wrk: has("wrk"), redisServer: has("redis-server") };

function ensureWrk() {
  if (tools.wrk) return;
  log("wrk (HTTP load generator) is not installed: installing the Debian package `wrk`");
  if (!has("apt-get") || process.getuid?.() !== 0) {
    throw new Error("wrk is missing; install it (Debian: apt-get install -y wrk) and rerun");
  }
  const apt = (args) => execFileSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"] });
  try {
    apt(["install", "-y", "-q", "wrk"]);
  } catch {
    log("apt-get install failed; running apt-get update once and retrying");
    apt(["update", "-q"]);
    apt(["install", "-y", "-q", "wrk"]);
  }
  tools.wrk = has("wrk");
  if (!tools.wrk) throw new Error("wrk is still missing after apt-get install");
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function text(command, args) {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? "?";
  const dirty = text("git", ["status", "--porcelain"]) !== "";
  return {
    date: text("date", ["-u"]),
    nproc: text("nproc", []),
    cpu: model,
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: text("uname", ["-r"]),
    commit: `${text("git", ["rev-parse", "--short", "HEAD"]) || "?"}${dirty ? " (dirty)" : ""}`,
    bun: text(BUN, ["--version"]),
    node: process.version,
    wrk: (text("sh", ["-c", "wrk -v 2>&1 | head -1"]) || "?").split(" ").slice(0, 2).join(" "),
  };
}

const CLK_TCK = Number(text("getconf", ["CLK_TCK"])) || 100;

/** Busy and total jiffies of one CPU from /proc/stat (to see other load on the server's core). */
function cpuCoreTimes(cpu) {
  const line = readFileSync("/proc/stat", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return { busy: 0, total: 0 };
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / CLK_TCK, total: (busy + idle + iowait) / CLK_TCK };
}

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** utime + stime of a process (all its threads), in CPU seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command: state is 3rd overall, utime 14th, stime 15th.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

async function waitForHttp(name, entry, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (entry.exited) {
      throw new Error(`${name} exited (${entry.code}) before it answered; see ${entry.logFile}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    await sleep(200);
  }
  throw new Error(
    `${name} did not answer ${url} within ${timeoutMs / 1000}s; see ${entry.logFile}`,
  );
}

async function get(url, token, bearer) {
  const response = await fetch(url, {
    headers: {
      accept: "application/json",
      ...(token ? { "x-guest-session": token } : {}),
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  return { status: response.status, headers: [...response.headers], body, response };
}

/**
 * A session for this app instance (sessions live in the instance's cache) and a warm response:
 * 20 consecutive "200 active" answers. A cold instance in Upstash mode can trip the Redis circuit
 * breaker on its first calls (served "degraded", without a session, for 2 s), so this retries
 * for a while and records how often it had to.
 */
async function openGuestSession(target, timeoutMs = 30_000) {
  const url = `${target.url}${PATH_UNDER_TEST}`;
  const deadline = Date.now() + timeoutMs;
  let token;
  let warm;
  let streak = 0;
  let retries = 0;
  let last = "";
  while (streak < 20) {
    if (Date.now() > deadline) {
      throw new Error(
        `${target.name}: no warm guest session within ${timeoutMs / 1000}s (${last})`,
      );
    }
    const response = await get(url, token);
    const status = response.response.headers.get("x-guest-session-status");
    last = `last answer ${response.status} ${status}`;
    token ??= response.response.headers.get("x-guest-session") ?? undefined;
    if (token && response.status === 200 && status === "active") {
      streak += 1;
      warm = response;
    } else if (!(token && status === "created")) {
      streak = 0;
      retries += 1;
      await sleep(250);
    }
  }
  return { token, warm, retries };
}

// ---------------------------------------------------------------------------------------------
// Redis (RESP over a socket, for INFO only)

function redisInfo(redisUrl, section) {
  const { hostname, port } = new URL(redisUrl);
  return new Promise((resolveInfo, reject) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const chunks = [];
    socket.setTimeout(5000, () => socket.destroy(new Error("redis INFO timed out")));
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(`*2\r\n$4\r\nINFO\r\n$${section.length}\r\n${section}\r\n`);
    });
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      const buffer = Buffer.concat(chunks);
      const header = buffer.indexOf("\r\n");
      if (header === -1) return;
      if (buffer[0] !== 0x24) {
        socket.destroy();
        reject(new Error(`redis INFO: ${buffer.toString("utf8", 0, header)}`));
        return;
      }
      const length = Number(buffer.toString("utf8", 1, header));
      if (buffer.length < header + 2 + length) return;
      socket.end();
      resolveInfo(buffer.toString("utf8", header + 2, header + 2 + length));
    });
  });
}

async function commandStats(redisUrl) {
  const out = {};
  for (const line of (await redisInfo(redisUrl, "commandstats")).split("\r\n")) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) out[match[1]] = Number(match[2]);
  }
  return out;
}

function diffCounts(after, before) {
  const out = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
}

const sum = (table) => Object.values(table).reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------------------------
// Load generation

async function runWrk(target, seconds) {
  const logFile = join(tmp, `wrk-${target.name}-${Date.now()}.log`);
  const entry = start(
    `wrk ${target.name}`,
    "wrk",
    [
      "-t1",
      `-c${opts.connections}`,
      `-d${seconds}s`,
      "--timeout",
      "5s",
      "-s",
      join(BENCH_DIR, "guest.lua"),
      `${target.url}${PATH_UNDER_TEST}`,
    ],
    {
      cpu: GENERATOR_CPU,
      env: {
        ...process.env,
        GUEST_TOKEN: target.bearer ? "" : (target.token ?? ""),
        BEARER_TOKEN: target.bearer ?? "",
      },
      logFile,
      budget: seconds + 30,
    },
  );
  while (!entry.exited) await sleep(50);
  const output = readFileSync(logFile, "utf8");
  const line = output.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (!line) throw new Error(`wrk gave no result for ${target.name}:\n${output}`);
  return JSON.parse(line.slice("BENCH_RESULT ".length));
}

async function measureRound(target) {
  const pids = [target.pid, ...(target.auxPids ?? [])];
  const before = pids.map(cpuSeconds);
  const coreBefore = cpuCoreTimes(SERVER_CPU);
  const logLinesBefore = target.logFile ? countLines(target.logFile) : 0;
  const statsBefore = target.stackUrl ? await stackStats(target.stackUrl) : undefined;
  const wall = performance.now();
  const result = await runWrk(target, opts.duration);
  const elapsed = (performance.now() - wall) / 1000;
  const after = pids.map(cpuSeconds);
  const coreAfter = cpuCoreTimes(SERVER_CPU);
  const requests = result.requests;
  const serverCpu = after[0] - before[0];
  const seconds = result.duration_us / 1e6;
  const round = {
    rps: requests / seconds,
    p50: result.p50_us / 1000,
    p99: result.p99_us / 1000,
    cpuUs: (serverCpu * 1e6) / requests,
    serverCpuShare: serverCpu / elapsed,
    // Busy time on the server's core that was not the server (other processes on the machine).
    foreignShare:
      coreAfter.total > coreBefore.total
        ? Math.max(0, coreAfter.busy - coreBefore.busy - serverCpu) /
          (coreAfter.total - coreBefore.total)
        : 0,
    logLines: target.logFile ? countLines(target.logFile) - logLinesBefore : 0,
    auxCpuUs: pids.length > 1 ? ((sum(after.slice(1)) - sum(before.slice(1))) * 1e6) / requests : 0,
    bytesPerResponse: result.bytes / requests,
    errors:
      result.connect_errors +
      result.read_errors +
      result.write_errors +
      result.status_errors +
      result.timeouts,
    statusErrors: result.status_errors,
    errorKinds: Object.entries({
      "non-2xx/3xx": result.status_errors,
      timeout: result.timeouts,
      connect: result.connect_errors,
      read: result.read_errors,
      write: result.write_errors,
    })
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", "),
    requests,
  };
  if (round.errors > 0) {
    // What a request gets right after the round: shows e.g. a 429 from the degraded limiter.
    const probe = await get(
      `${target.url}${PATH_UNDER_TEST}`,
      target.bearer ? undefined : target.token,
      target.bearer,
    ).catch(() => null);
    round.probe = probe
      ? `${probe.status} ${probe.response.headers.get("x-guest-session-status") ?? ""}`.trim()
      : "no answer";
  }
  if (statsBefore) {
    const statsAfter = await stackStats(target.stackUrl);
    round.tripsPerRequest = (statsAfter.httpRequests - statsBefore.httpRequests) / requests;
  }
  return round;
}

async function stackStats(url) {
  const response = await fetch(`${url}/__bench/stats`, { signal: AbortSignal.timeout(5000) });
  return response.json();
}

// ---------------------------------------------------------------------------------------------
// Reporting

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (n, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a";
const pct = (n) => `${fmt(n * 100, 1)} %`;

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  // "| --- |" separators: the form Biome's Markdown formatter keeps (bench/RESULTS.md is linted).
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)]
    .join("\n")
    .concat("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

const tmp = mkdtempSync(join(tmpdir(), "neoadmin-bench-"));
cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

async function setUpDatabase() {
  if (opts.database === "embedded") return { kind: "embedded (PGlite)" };
  const adminUrl = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const { default: postgres } = await import("postgres");
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await admin`select 1`;
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => {});
    if (opts.database === "postgres") throw error;
    log(`PostgreSQL not reachable (${error.message}); using embedded PGlite in a temp dir`);
    return { kind: "embedded (PGlite)" };
  }
  const name = `neoadmin_bench_${process.pid}_${randomBytes(3).toString("hex")}`;
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  cleanups.push(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end({ timeout: 2 });
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { kind: `PostgreSQL (temp database ${name})`, url: url.toString() };
}

/**
 * The app's environment: production, as deployed. Production refuses to start without a Keycloak
 * URL; the guest path never calls it, so it gets a loopback address where nothing listens
 * (BENCH_APP_ENVIRONMENT=development runs the development configuration instead).
 */
const APP_ENVIRONMENT = process.env.BENCH_APP_ENVIRONMENT || "production";

/** Environment of an app instance: only what the bench sets, whatever the caller's shell has. */
function appEnv(extra) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      /^(UPSTASH_|ADMIN_DATABASE|GUEST_|CORS_|DOCS_|TRUSTED_|CACHE_|LOG_LEVEL|DATA_DIR|KEYCLOAK_|ENVIRONMENT$)/.test(
        key,
      )
    )
      delete env[key];
  }
  return {
    ...env,
    HOST,
    ENVIRONMENT: APP_ENVIRONMENT,
    ...(APP_ENVIRONMENT === "production"
      ? {
          KEYCLOAK_URL: "http://127.0.0.1:9",
          KEYCLOAK_CLIENT_SECRET: "bench-unused",
          APP_ENCRYPTION_KEY: `bench:${randomBytes(32).toString("base64")}`,
        }
      : {}),
    LOG_LEVEL: "warn",
    GUEST_SESSION_REQUEST_LIMIT: "10000000",
    GUEST_IP_DAILY_SESSION_LIMIT: "10000000",
    ...extra,
  };
}

async function startApp(name, database, extra = {}, bunArgs = []) {
  const port = await freePort();
  const env = appEnv({ PORT: String(port), ...extra });
  if (database.url) env.ADMIN_DATABASE_URL = database.url;
  else env.DATA_DIR = join(tmp, `data-${name}`);
  const logFile = join(tmp, `${name}.log`);
  const entry = start(name, BUN, [...bunArgs, "src/server.ts"], { cpu: SERVER_CPU, env, logFile });
  const url = `http://${HOST}:${port}`;
  await waitForHttp(name, entry, `${url}/health/live`, database.url ? 60_000 : 240_000);
  const target = { name, url, entry, pid: await innerPid(entry), logFile };
  const session = await openGuestSession(target);
  target.token = session.token;
  target.sample = session.warm;
  target.startRetries = session.retries;
  return target;
}

/**
 * The local identity provider in its own process (bench/identity-provider.ts, on the generator's
 * core: it only serves the JWKS once and the sign-in), for the signed-in target.
 */
async function startIdentityProvider() {
  const logFile = join(tmp, "idp.log");
  const entry = start("idp", BUN, [join(BENCH_DIR, "identity-provider.ts")], {
    cpu: GENERATOR_CPU,
    logFile,
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (entry.exited) throw new Error(`identity provider exited (${entry.code}); see ${logFile}`);
    const line = readFileSync(logFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("IDP "));
    if (line) return JSON.parse(line.slice(4));
    await sleep(100);
  }
  throw new Error(`identity provider did not start within 60s; see ${logFile}`);
}

/**
 * The same app, configured with a Keycloak URL (the bench's identity provider), read by the
 * superadmin with an access token: the signed-in path (token verification from the verified-token
 * cache, cached platform user, per-user and per-address API rate limits). Needs PostgreSQL: the
 * seeded API limits (60 requests a minute per user) are raised in the bench's database first.
 */
async function startSignedInApp(database, idp, name = "app-auth", bunArgs = []) {
  const { default: postgres } = await import("postgres");
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const target = await startApp(
    name,
    database,
    { KEYCLOAK_URL: idp.url, KEYCLOAK_CLIENT_SECRET: idp.clientSecret },
    bunArgs,
  );
  try {
    await sql`update admin.api_rate_limits set requests_per_window = 1000000000`;
  } finally {
    await sql.end({ timeout: 2 });
  }
  const login = await fetch(`${target.url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "superadmin", password: "NeoAdmin-local-2026" }),
  });
  const body = await login.json();
  if (login.status !== 200) throw new Error(`sign-in failed: ${login.status} ${body.message}`);
  target.bearer = body.data.access_token;
  await assertSignedIn(target);
  return target;
}

/** The signed-in target must be read as the user, or its numbers would be a guest's. */
async function assertSignedIn(target) {
  const probe = await get(`${target.url}${PATH_UNDER_TEST}`, undefined, target.bearer);
  const reader = probe.response.headers.get("x-reader-type");
  if (probe.status !== 200 || reader !== "user") {
    throw new Error(`app-auth: expected a signed-in read, got ${probe.status} reader=${reader}`);
  }
  target.sample = probe;
}

async function startUpstash() {
  let redisUrl = process.env.BENCH_REDIS_URL;
  let redisPid;
  let note;
  if (!redisUrl && tools.redisServer) {
    // A private Redis, so other users of the machine's Redis cannot skew INFO commandstats.
    const port = await freePort();
    const dir = join(tmp, "redis");
    mkdirSync(dir);
    const entry = start(
      "redis-server",
      "redis-server",
      ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir],
      { logFile: join(tmp, "redis.log") },
    );
    redisUrl = `redis://${HOST}:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await redisInfo(redisUrl, "server");
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    redisPid = await innerPid(entry);
    note = `private redis-server on ${HOST}:${port} (unpinned)`;
  } else {
    redisUrl ??= "redis://127.0.0.1:6379";
    note = `shared Redis ${redisUrl}: other clients may skew INFO commandstats`;
  }
  const forwarderPort = await freePort();
  const stack = start("upstash-stack", BUN, [join(BENCH_DIR, "upstash-stack.ts")], {
    cpu: GENERATOR_CPU,
    env: {
      ...process.env,
      BENCH_REDIS_URL: redisUrl,
      BENCH_PROXY_TOKEN: "bench-token",
      BENCH_FORWARDER_PORT: String(forwarderPort),
    },
    logFile: join(tmp, "upstash-stack.log"),
  });
  const stackUrl = `http://${HOST}:${forwarderPort}`;
  await waitForHttp("upstash-stack", stack, `${stackUrl}/__bench/stats`, 30_000);
  return { redisUrl, redisPid, stackUrl, stackPid: await innerPid(stack), note };
}

/** Sequential warm requests; counts HTTP round trips, commands and Redis commandstats. */
async function countRoundTrips(target, upstash, requests) {
  const url = `${target.url}${PATH_UNDER_TEST}`;
  for (let i = 0; i < 100; i++) await get(url, target.token);
  const statsBefore = await stackStats(upstash.stackUrl);
  const redisBefore = await commandStats(upstash.redisUrl);
  const statuses = {};
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const r = await get(url, target.token);
    const key = `${r.status} ${r.response.headers.get("x-guest-session-status")}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const elapsedMs = performance.now() - started;
  const redisAfter = await commandStats(upstash.redisUrl);
  const statsAfter = await stackStats(upstash.stackUrl);
  const redis = diffCounts(redisAfter, redisBefore);
  delete redis.info; // our own INFO call
  return {
    requests,
    statuses,
    meanLatencyMs: elapsedMs / requests,
    httpPerRequest: (statsAfter.httpRequests - statsBefore.httpRequests) / requests,
    commandsPerRequest: (statsAfter.commands - statsBefore.commands) / requests,
    byPath: diffCounts(statsAfter.byPath, statsBefore.byPath),
    byCommand: diffCounts(statsAfter.byCommand, statsBefore.byCommand),
    redisPerRequest: sum(redis) / requests,
    redis,
  };
}

/** Quota units one warm request consumes (RateLimit-Remaining before/after n requests). */
async function quotaPerRequest(target, n = 100) {
  const url = `${target.url}${PATH_UNDER_TEST}`;
  const remaining = (r) => Number(r.response.headers.get("ratelimit-remaining"));
  const first = await get(url, target.token);
  let last = first;
  for (let i = 0; i < n; i++) last = await get(url, target.token);
  return (remaining(first) - remaining(last)) / n;
}

function countLines(file) {
  const content = readFileSync(file, "utf8");
  let lines = 0;
  for (let i = content.indexOf("\n"); i !== -1; i = content.indexOf("\n", i + 1)) lines++;
  return lines;
}

async function profileApp(database, idp, upstash) {
  const dir = join(BENCH_DIR, ".profiles", new Date().toISOString().replace(/[:.]/g, "-"));
  mkdirSync(dir, { recursive: true });
  const bunArgs = ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`];
  let target;
  if (opts.profileSignedIn && idp) {
    target = await startSignedInApp(database, idp, "app-auth-profile", bunArgs);
  } else {
    const env = { LOG_LEVEL: opts.profileLogLevel };
    if (opts.profileUpstash) {
      env.UPSTASH_REDIS_REST_URL = upstash.stackUrl;
      env.UPSTASH_REDIS_REST_TOKEN = "bench-token";
    }
    target = await startApp("app-profile", database, env, bunArgs);
  }
  await runWrk(target, opts.warmup);
  const round = await measureRound(target);
  await stop(target.entry, "SIGTERM", 15_000);
  const files = readdirSync(dir).map((f) => join(dir, f));
  return { dir, files, round };
}

/**
 * bench/token-verify.bench.ts on the server core while nothing else runs: local access-token
 * verification, CPU µs per call. Its `--json` line is the result.
 */
async function runTokenVerify() {
  const logFile = join(tmp, "token-verify.log");
  const entry = start("token-verify", BUN, [join(BENCH_DIR, "token-verify.bench.ts"), "--json"], {
    cpu: SERVER_CPU,
    logFile,
    budget: 120,
  });
  while (!entry.exited) await sleep(100);
  const output = readFileSync(logFile, "utf8").trim();
  const line = output.split("\n").find((l) => l.startsWith('{"bench":"token-verify"'));
  if (entry.code !== 0 || !line) {
    throw new Error(`bench/token-verify.bench.ts failed (${entry.code}):\n${output}`);
  }
  return JSON.parse(line);
}

function tokenVerifyNote(result) {
  return (
    `Token verification micro-benchmark (bench/token-verify.bench.ts, ${result.runtime}, on CPU ${SERVER_CPU} ` +
    "after the rounds; median batch; targets judged on CPU µs per verification):"
  );
}

function tokenVerifyTable(result) {
  return table(
    ["token verification (bench/token-verify.bench.ts)", "wall µs", "CPU µs", "target (CPU)"],
    Object.entries(result.results).map(([name, r]) => [
      name.trim().startsWith("of which") || name.trim().startsWith("floor")
        ? `↳ ${name.trim()}`
        : name,
      fmt(r.wallUs, 2),
      fmt(r.cpuUs, 2),
      r.target === undefined ? "" : `≤ ${r.target} µs: ${r.met ? "MET" : "MISSED"}`,
    ]),
  );
}

/** bench/sections.ts on the server core, against the bench's database, while nothing else runs. */
async function runSections(database) {
  const logFile = join(tmp, "sections.log");
  const env = appEnv({});
  if (database.url) env.ADMIN_DATABASE_URL = database.url;
  const entry = start("sections", BUN, [join(BENCH_DIR, "sections.ts")], {
    cpu: SERVER_CPU,
    env,
    logFile,
    budget: 300,
  });
  while (!entry.exited) await sleep(100);
  const output = readFileSync(logFile, "utf8").trim();
  if (entry.code !== 0) throw new Error(`bench/sections.ts failed (${entry.code}):\n${output}`);
  return output;
}

async function main() {
  if (process.platform !== "linux") throw new Error("the bench reads /proc: Linux only");
  if (!existsSync(BUN)) throw new Error(`${BUN} not found: run npm install first`);
  const cores = Number(text("nproc", [])) || cpus().length;
  if (!tools.taskset) log("taskset (util-linux) not found: processes will NOT be pinned to cores");
  if (cores < 2) log(`only ${cores} core: generator and server share it; ratios still hold`);
  ensureWrk();
  const seeds = readdirSync(join(ROOT, "db/seed/reference")).filter((f) => f.endsWith(".sql"));
  const seedBytes = seeds.reduce(
    (n, f) => n + statSync(join(ROOT, "db/seed/reference", f)).size,
    0,
  );

  const info = machine();
  log(
    `${opts.rounds} round(s) × ${TARGET_COUNT} targets × ${opts.duration}s, ${opts.connections} connections; ` +
      `≈${Math.ceil(LOAD_SECONDS / 60) + 1} min`,
  );

  const database = await setUpDatabase();
  log(`database: ${database.kind}`);

  log("starting app (memory cache, LOG_LEVEL=warn)");
  const app = await startApp("app", database);
  const sampleData = JSON.parse(app.sample.body).data;
  const items = sampleData?.items?.length ?? 0;

  // The bare server serves the app's real warm response: same status, headers and body bytes.
  const responseFile = join(tmp, "captured-response.json");
  const drop = new Set(["date", "content-length", "transfer-encoding", "connection", "keep-alive"]);
  writeFileSync(
    responseFile,
    JSON.stringify({
      status: app.sample.status,
      headers: app.sample.headers.filter(([name]) => !drop.has(name.toLowerCase())),
      body: app.sample.body,
    }),
  );
  log("starting bare Bun.serve");
  const barePort = await freePort();
  const bareEntry = start("bare", BUN, [join(BENCH_DIR, "bare-server.ts")], {
    cpu: SERVER_CPU,
    env: { ...process.env, PORT: String(barePort), HOST, BARE_RESPONSE_FILE: responseFile },
    logFile: join(tmp, "bare.log"),
  });
  const bare = { name: "bare", url: `http://${HOST}:${barePort}`, entry: bareEntry };
  await waitForHttp("bare", bareEntry, `${bare.url}/`, 30_000);
  bare.pid = await innerPid(bareEntry);
  bare.token = app.token;
  const bareSample = await get(`${bare.url}${PATH_UNDER_TEST}`, bare.token);
  if (bareSample.body !== app.sample.body) throw new Error("bare server body differs from capture");

  log("starting app-info (memory cache, LOG_LEVEL=info)");
  const appInfo = await startApp("app-info", database, { LOG_LEVEL: "info" });

  let appAuth;
  let idp;
  if (database.url) {
    log("starting app-auth (memory cache, signed in through the bench's identity provider)");
    idp = await startIdentityProvider();
    appAuth = await startSignedInApp(database, idp);
  } else {
    log("no PostgreSQL: skipping the signed-in target (its API limits are raised with SQL)");
  }

  log("starting Upstash mode: Redis → Upstash REST proxy → counting forwarder → app-upstash");
  const upstash = await startUpstash();
  const appUpstash = await startApp("app-upstash", database, {
    UPSTASH_REDIS_REST_URL: upstash.stackUrl,
    UPSTASH_REDIS_REST_TOKEN: "bench-token",
  });
  appUpstash.stackUrl = upstash.stackUrl;
  appUpstash.auxPids = [upstash.stackPid, ...(upstash.redisPid ? [upstash.redisPid] : [])];

  log(`Upstash mode: ${opts.sequential} sequential warm requests to count round trips`);
  const trips = await countRoundTrips(appUpstash, upstash, opts.sequential);
  // Everything app-upstash logged so far (LOG_LEVEL=warn: warnings and errors only).
  const upstashEarlyLog = readFileSync(appUpstash.logFile, "utf8").split("\n").filter(Boolean);
  const firstWarning = (() => {
    try {
      const entry = JSON.parse(upstashEarlyLog[0] ?? "");
      return `${entry.msg}${entry.error?.message ? `: ${entry.error.message}` : ""}`;
    } catch {
      return upstashEarlyLog[0]?.slice(0, 160) ?? "";
    }
  })();
  const quota = {
    app: await quotaPerRequest(app),
    "app-upstash": await quotaPerRequest(appUpstash),
  };
  const loadBefore = loadAverage();

  const targets = [bare, app, appInfo, appUpstash, ...(appAuth ? [appAuth] : [])];
  for (const target of targets) {
    log(`warm-up ${target.name} (${opts.warmup}s)`);
    await runWrk(target, opts.warmup);
  }
  const results = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let round = 1; round <= opts.rounds; round++) {
    for (const target of targets) {
      const r = await measureRound(target);
      results[target.name].push(r);
      log(
        `round ${round}/${opts.rounds} ${target.name.padEnd(11)} ${fmt(r.rps).padStart(7)} req/s  ` +
          `p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  ${fmt(r.cpuUs, 1)} µs CPU/req` +
          (r.errors ? `  ERRORS ${r.errorKinds} (then a probe got: ${r.probe})` : ""),
      );
    }
  }
  const loadAfter = loadAverage();
  // Still signed in after the rounds (a token that expired mid-run would have measured a guest).
  if (appAuth) await assertSignedIn(appAuth);
  const linesPerRequest = (name) =>
    results[name].reduce((n, r) => n + r.logLines, 0) /
    results[name].reduce((n, r) => n + r.requests, 0);
  const infoLinesPerRequest = linesPerRequest("app-info");
  const infoLogBytes = statSync(appInfo.logFile).size;

  let tokenVerify;
  if (opts.tokenVerify) {
    log("token verification micro-benchmark (bench/token-verify.bench.ts)");
    tokenVerify = await runTokenVerify();
  }
  let sections;
  if (opts.sections) {
    log("in-process cost breakdown (bench/sections.ts)");
    sections = await runSections(database);
  }
  let profile;
  if (opts.profile) {
    log("profiling app (bun --cpu-prof) under the same load");
    profile = await profileApp(database, idp, upstash);
  }

  // Summaries
  const summary = {};
  for (const target of targets) {
    const rounds = results[target.name];
    summary[target.name] = {
      rps: median(rounds.map((r) => r.rps)),
      rpsMin: Math.min(...rounds.map((r) => r.rps)),
      rpsMax: Math.max(...rounds.map((r) => r.rps)),
      p50: median(rounds.map((r) => r.p50)),
      p99: median(rounds.map((r) => r.p99)),
      cpuUs: median(rounds.map((r) => r.cpuUs)),
      auxCpuUs: median(rounds.map((r) => r.auxCpuUs)),
      share: median(rounds.map((r) => r.serverCpuShare)),
      foreign: median(rounds.map((r) => r.foreignShare)),
      bytes: median(rounds.map((r) => r.bytesPerResponse)),
      errors: rounds.reduce((n, r) => n + r.errors, 0),
      trips:
        rounds[0]?.tripsPerRequest === undefined
          ? undefined
          : median(rounds.map((r) => r.tripsPerRequest)),
    };
  }
  const paired = (name) =>
    results[name].map((r, i) => r.rps / (results.bare[i]?.rps ?? Number.NaN));
  const appRatio = summary.app.rps / summary.bare.rps;
  const upstashRatio = summary["app-upstash"].rps / summary.bare.rps;
  const throughputMet = appRatio >= 0.6;
  // What the ratio would be with the server core saturated in both cases (CPU is the limit).
  const cpuRatio = summary.bare.cpuUs / summary.app.cpuUs;
  const tripsMet = trips.httpPerRequest <= 1;

  const labels = {
    bare: "bare Bun.serve (ceiling)",
    app: "app, memory cache, LOG_LEVEL=warn",
    "app-info": "app, memory cache, LOG_LEVEL=info",
    "app-upstash": "app, Upstash (proxy → Redis), warn",
    "app-auth": "app, signed-in user (bearer), memory, warn",
  };
  const mainTable = table(
    [
      "target",
      "req/s (median)",
      "req/s min–max",
      "vs bare",
      "p50 ms",
      "p99 ms",
      "server CPU µs/req",
      "server CPU use",
      "other load on server core",
      "bytes/resp",
      "errors",
    ],
    targets.map((t) => {
      const s = summary[t.name];
      return [
        labels[t.name],
        fmt(s.rps),
        `${fmt(s.rpsMin)}–${fmt(s.rpsMax)}`,
        t === bare ? "100 %" : pct(s.rps / summary.bare.rps),
        fmt(s.p50, 2),
        fmt(s.p99, 2),
        fmt(s.cpuUs, 1),
        pct(s.share),
        pct(s.foreign),
        fmt(s.bytes),
        String(s.errors),
      ];
    }),
  );
  const perRound = table(
    ["round", ...targets.map((t) => t.name)],
    Array.from({ length: opts.rounds }, (_, i) => [
      String(i + 1),
      ...targets.map(
        (t) => `${fmt(results[t.name][i].rps)} req/s, ${fmt(results[t.name][i].cpuUs, 1)} µs`,
      ),
    ]),
  );
  // Paired per round (app-info right after app), so drift in machine load cancels out.
  const logCostUs = median(results["app-info"].map((r, i) => r.cpuUs - results.app[i].cpuUs));
  const logCostRps = median(results["app-info"].map((r, i) => r.rps / results.app[i].rps - 1));
  const breakdown = Object.entries(trips.byCommand)
    .map(([k, v]) => `${k} ${fmt(v / trips.requests, 3)}`)
    .join(", ");
  const redisBreakdown = Object.entries(trips.redis)
    .map(([k, v]) => `${k} ${fmt(v / trips.requests, 3)}`)
    .join(", ");
  const degraded = Object.entries(trips.statuses)
    .filter(([k]) => k !== "200 active")
    .reduce((n, [, v]) => n + v, 0);
  const tripsVerdict = !tripsMet ? "NOT MET" : degraded > 0 ? "INCONCLUSIVE" : "MET";
  const statusLine = Object.entries(trips.statuses)
    .map(([k, v]) => `${v}× ${k}`)
    .join(", ");

  const findings = [
    `- Full guest path (memory cache) vs bare Bun.serve: **${pct(appRatio)}** of the ceiling's throughput ` +
      `(paired per round: ${paired("app").map(pct).join(", ")}). Target ≥ 60 %: **${throughputMet ? "MET" : "NOT MET"}**.`,
    `- Server CPU per request: app ${fmt(summary.app.cpuUs, 1)} µs vs bare ${fmt(summary.bare.cpuUs, 1)} µs ` +
      `(×${fmt(summary.app.cpuUs / summary.bare.cpuUs, 2)}); the app spends ${fmt(summary.app.cpuUs - summary.bare.cpuUs, 1)} µs/req above the ceiling. ` +
      `CPU-bound estimate of app/bare (bare µs ÷ app µs: the ratio if each server saturated its core): **${pct(cpuRatio)}** — ${cpuRatio >= 0.6 ? "also ≥" : "also <"} 60 %.`,
    ...(appAuth
      ? [
          `- Signed-in read (same GET with a platform access token: cached token verification, cached user, per-user and per-address API limits): ` +
            `${fmt(summary["app-auth"].rps)} req/s, ${fmt(summary["app-auth"].cpuUs, 1)} µs CPU/req, p99 ${fmt(summary["app-auth"].p99, 2)} ms — ` +
            `${pct(summary["app-auth"].rps / summary.app.rps)} of the guest path's throughput, ${pct(summary["app-auth"].rps / summary.bare.rps)} of bare.`,
        ]
      : []),
    `- Quota units consumed per warm request (RateLimit-Remaining over 100 requests): app ${fmt(quota.app, 2)}, ` +
      `app-upstash ${fmt(quota["app-upstash"], 2)}${quota.app > 1 || quota["app-upstash"] > 1 ? " — MORE THAN 1: each request is counted more than once" : ""}.`,
    `- Logging cost (LOG_LEVEL=info vs warn, median of per-round differences): ${fmt(logCostUs, 1)} µs CPU/req, throughput ${pct(logCostRps)} ` +
      `(${fmt(infoLinesPerRequest, 2)} log lines per request, stdout to a file; ${fmt(infoLogBytes / 2 ** 20, 1)} MiB written).`,
    `- Upstash mode: ${fmt(summary["app-upstash"].rps)} req/s (${pct(upstashRatio)} of bare; app CPU ${fmt(summary["app-upstash"].cpuUs, 1)} µs/req; ` +
      `proxy stack + Redis ${fmt(summary["app-upstash"].auxCpuUs, 1)} µs/req, on the generator's core/unpinned).`,
    `- Upstash round trips per warm request (${trips.requests} sequential requests, one warm session; ${statusLine}): ` +
      `**${fmt(trips.httpPerRequest, 3)} HTTP round trips** to the Upstash endpoint, ${fmt(trips.commandsPerRequest, 3)} top-level Redis commands ` +
      `(${breakdown || "none"}); Redis INFO commandstats: ${fmt(trips.redisPerRequest, 3)} commands/request incl. commands run inside scripts ` +
      `(${redisBreakdown || "none"}). Under load: ${fmt(summary["app-upstash"].trips ?? Number.NaN, 3)} HTTP round trips/request ` +
      "(forwarder count ÷ requests wrk completed, so requests in flight when wrk stops count too). " +
      `Sequential mean latency ${fmt(trips.meanLatencyMs, 2)} ms. Target ≤ 1 round trip: **${tripsVerdict}**` +
      (degraded > 0
        ? ` — but ${degraded} of ${trips.requests} responses were not "200 active" (degraded: the Redis circuit breaker was open after a call exceeded CACHE_TIMEOUT_MS, and such requests make no Redis call), so this figure undercounts; rerun on a quieter machine.`
        : "."),
    `- Upstash start-up: app-upstash logged ${upstashEarlyLog.length} warning(s) before the rounds` +
      (firstWarning ? ` (first: "${firstWarning}")` : "") +
      `, and the warm-session probe saw ${appUpstash.startRetries} degraded/failed answer(s) before 20 consecutive "200 active".`,
    `- Warnings logged during the rounds (LOG_LEVEL=warn): app ${results.app.reduce((n, r) => n + r.logLines, 0)}, ` +
      `app-upstash ${results["app-upstash"].reduce((n, r) => n + r.logLines, 0)}. Load average before/after the rounds: ${loadBefore} / ${loadAfter}.`,
    `- Reference data: ${items} currencies on the page (${seeds.length} seed files, ${fmt(seedBytes / 1024, 1)} KiB)${items === 0 ? " — EMPTY PAGE, seeds missing" : ""}; ` +
      `response ${fmt(summary.app.bytes)} bytes (app) vs ${fmt(summary.bare.bytes)} bytes (bare), headers included.`,
  ];
  if (profile) {
    findings.push(
      `- CPU profile (${opts.profileSignedIn && idp ? "app-auth" : `app${opts.profileUpstash ? " with Upstash" : ""} at LOG_LEVEL=${opts.profileLogLevel}`}, ${fmt(profile.round.rps)} req/s while profiled): ${profile.files.map((f) => f.slice(ROOT.length + 1)).join(", ")}`,
    );
  }
  const errorsTotal = targets.reduce((n, t) => n + summary[t.name].errors, 0);
  if (errorsTotal > 0) {
    const detail = targets
      .flatMap((t) =>
        results[t.name].map((r, i) =>
          r.errors
            ? `${t.name} round ${i + 1}: ${r.errorKinds} of ${r.requests} (probe after: ${r.probe})`
            : "",
        ),
      )
      .filter(Boolean)
      .join("; ");
    findings.push(
      `- **${errorsTotal} wrk errors** (non-2xx/3xx, socket errors or timeouts): ${detail}. ` +
        'A "429 degraded" probe means the Redis circuit breaker was open and the degraded per-IP limiter answered.',
    );
  }

  const method =
    `wrk 1 thread × ${opts.connections} connections, ${opts.rounds} interleaved rounds × ${opts.duration}s per target after ${opts.warmup}s warm-up each; ` +
    `generator on CPU ${GENERATOR_CPU}, servers on CPU ${SERVER_CPU}${tools.taskset ? "" : " (NOT pinned: taskset missing)"}; ` +
    `Upstash proxy stack on CPU ${GENERATOR_CPU}, ${upstash.note}; database ${database.kind}; ENVIRONMENT=${APP_ENVIRONMENT}. ` +
    "Medians over rounds; server CPU = utime+stime from /proc/<pid>/stat ÷ requests; " +
    `other load on server core = busy time of CPU ${SERVER_CPU} in /proc/stat not spent by the server.`;

  const report = [
    "",
    `GET ${PATH_UNDER_TEST} — warm guest session`,
    "",
    mainTable,
    "Per round (req/s, server CPU µs/req):",
    "",
    perRound,
    ...findings,
    "",
    `Method: ${method}`,
    "",
    ...(tokenVerify ? [tokenVerifyNote(tokenVerify), "", tokenVerifyTable(tokenVerify)] : []),
    ...(sections ? ["```", sections, "```", ""] : []),
  ].join("\n");
  console.log(report);

  if (opts.append) {
    const section = [
      `\n## ${info.date}\n`,
      `- Machine: ${info.nproc} cores, ${info.cpu}, ${info.memGiB} GiB RAM, Linux ${info.kernel}`,
      `- Commit: ${info.commit}; Bun ${info.bun}; Node ${info.node}; ${info.wrk}`,
      `- Method: ${method}`,
      "",
      mainTable,
      "Per round (req/s, server CPU µs/req):",
      "",
      perRound,
      ...findings,
      "",
      ...(tokenVerify ? [tokenVerifyNote(tokenVerify), "", tokenVerifyTable(tokenVerify)] : []),
      ...(sections
        ? ["In-process cost breakdown (bench/sections.ts):", "", "```", sections, "```", ""]
        : []),
    ].join("\n");
    const resultsFile = join(BENCH_DIR, "RESULTS.md");
    if (!existsSync(resultsFile)) {
      writeFileSync(
        resultsFile,
        "# Benchmark results\n\nAppended by `npm run bench` (bench/run.mjs); newest last. Method: bench/README.md.\n",
      );
    }
    appendFileSync(resultsFile, section);
    log(`appended to ${resultsFile.slice(ROOT.length + 1)}`);
  }
  // wrk errors are reported, not fatal: e.g. 429s from the degraded limiter are a finding.
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (interrupted) {
    await cleanup();
    process.exit(130);
  }
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
  for (const entry of children) {
    const skip = entry.name === "app-info" || entry.name.startsWith("wrk");
    if (!skip && entry.logFile && existsSync(entry.logFile)) {
      const tail = readFileSync(entry.logFile, "utf8").split("\n").slice(-15).join("\n").trim();
      if (tail) log(`--- ${entry.name} log tail ---\n${tail}`);
    }
  }
  exitCode = 1;
} finally {
  await cleanup();
  const left = children.filter((entry) => !entry.exited || alive(entry.child.pid));
  if (left.length) log(`WARNING: still running: ${left.map((e) => e.name).join(", ")}`);
}
process.exit(exitCode);
