import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A server the suite started: its own process group, output in a log file. */
export interface ServerProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** The last lines of its output, for failure messages. */
  tail(lines?: number): string;
  /** SIGTERM to the whole group (wrangler spawns workerd and esbuild), SIGKILL if it lingers. */
  stop(): Promise<void>;
}

/**
 * What the servers inherit from this process: enough to run, and no setting of ours, so the
 * suite's configuration is exactly what it passes (a shell's LOG_LEVEL or DOCS_ENABLED must not
 * change what is being tested).
 */
export function baseEnv(): NodeJS.ProcessEnv {
  const names = ["PATH", "HOME", "TMPDIR", "LANG", "TZ", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"];
  return Object.fromEntries(
    names.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]]])),
  );
}

/** A free TCP port on 127.0.0.1. Released before use, so another process could take it first. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port assigned");
  return address.port;
}

export function startProcess(options: {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
}): ServerProcess {
  // A file rather than a pipe: nobody has to drain it, and it survives for post-mortems.
  const fd = openSync(options.logFile, "a");
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", fd, fd],
    // Its own process group, so stop() reaches the grandchildren too.
    detached: true,
  });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const tail = (lines = 40) => {
    try {
      return readFileSync(options.logFile, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no output)";
    }
  };
  const signal = (name: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, name);
    } catch {
      // The group is already gone.
    }
  };
  return {
    name: options.name,
    child,
    logFile: options.logFile,
    tail,
    async stop() {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      // workerd can outlive wrangler by a moment; the group may still hold it.
      signal("SIGKILL");
    },
  };
}

/** Polls `url` until it answers `status`; fails early, with the output, when the process dies. */
export async function waitUntilReady(
  server: ServerProcess,
  url: string,
  options: { timeoutMs: number; status?: number },
): Promise<void> {
  const { timeoutMs, status = 200 } = options;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `${server.name} exited (${server.child.exitCode ?? server.child.signalCode}) before it was ready:\n${server.tail()}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      if (response.status === status) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `${server.name} did not answer ${url} with ${status} within ${timeoutMs} ms:\n${server.tail()}`,
  );
}
