import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { baseEnv } from "./processes";

const { misconfiguredWorkerUrl, misconfiguredWorkerLog, databaseUrl } = inject("e2e");
const ROOT = resolve(import.meta.dirname, "../..");

// The global setup starts this Worker with these values; none may appear in a response.
const BAD_ENVIRONMENT = "e2e-bogus-environment";
const SECRET_HOST = "e2e-secret-host.example.com";

describe("workers runtime with invalid configuration", () => {
  it("answers every request with a 500 envelope that says nothing about the configuration", async () => {
    const requestId = `e2e-${crypto.randomUUID()}`;
    for (const path of ["/health/live", "/api/v1/countries/DE", "/docs"]) {
      const response = await fetch(`${misconfiguredWorkerUrl}${path}`, {
        headers: { "X-Request-ID": requestId },
      });
      const text = await response.text();
      expect(response.status).toBe(500);
      expect(response.headers.get("x-request-id")).toBe(requestId);
      expect(JSON.parse(text)).toMatchObject({
        success: false,
        data: null,
        message: "Internal server error",
        errors: [{ code: "INTERNAL_ERROR", message: "Internal server error" }],
        metadata: { request_id: requestId, timestamp: expect.any(String) },
      });
      expect(text).not.toContain(BAD_ENVIRONMENT);
      expect(text).not.toContain(SECRET_HOST);
      expect(text).not.toContain("UPSTASH");
    }
  });

  it("logs the problem once per isolate, naming the variables but not the secret URL", async () => {
    const log = readFileSync(misconfiguredWorkerLog, "utf8").split("\n");
    const lines = log.filter((line) => line.includes("invalid configuration"));
    // A source change while the suite runs makes wrangler reload: a new isolate logs again.
    const isolates = 1 + log.filter((line) => line.includes("Reloading local server")).length;
    expect(lines, lines.join("\n")).toHaveLength(isolates);
    const [line = ""] = lines;
    expect(line).toContain("ENVIRONMENT");
    expect(line).toContain("UPSTASH_REDIS_REST_URL");
    expect(line).not.toContain(SECRET_HOST);
  });
});

describe("bun runtime with invalid configuration", () => {
  it("refuses to start, naming the variables but not the secret URL", async () => {
    const child = spawn(join(ROOT, "node_modules/.bin/bun"), ["--no-env-file", "src/server.ts"], {
      cwd: ROOT,
      env: {
        ...baseEnv(),
        ENVIRONMENT: BAD_ENVIRONMENT,
        ADMIN_DATABASE_URL: databaseUrl,
        UPSTASH_REDIS_REST_URL: `ftp://${SECRET_HOST}`,
        // Invalid too, so nothing could bind even if the rest were accepted.
        PORT: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 20_000,
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((done) => child.once("exit", done));
    expect(code).toBe(1);
    expect(output).toContain("ENVIRONMENT");
    expect(output).toContain("UPSTASH_REDIS_REST_URL");
    expect(output).not.toContain(SECRET_HOST);
  });
});
