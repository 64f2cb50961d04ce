import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/harness";

/**
 * The document the app serves, linted by Redocly CLI with its recommended ruleset (redocly.yaml
 * at the project root). Errors fail the test; warnings are printed, to be fixed when cheap.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const redocly = join(root, "node_modules", ".bin", "redocly");

interface Problem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location: { pointer?: string }[];
}

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Problem[];
}

function lint(file: string): Promise<LintReport> {
  return new Promise((resolve, reject) => {
    execFile(
      redocly,
      ["lint", file, "--format=json", "--config", join(root, "redocly.yaml")],
      {
        cwd: root,
        // Offline and quiet: no usage report, no update check (redocly.yaml says so too).
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 30_000,
      },
      // The exit code is 1 when there are errors: the JSON report says which, so read it anyway.
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as LintReport);
        } catch {
          reject(new Error(`redocly lint gave no report: ${error?.message ?? ""}\n${stderr}`));
        }
      },
    );
  });
}

const describeProblem = (p: Problem) =>
  `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer ?? "?"}: ${p.message}`;

describe("OpenAPI lint (Redocly, recommended rules)", () => {
  let testApp: TestApp;
  let dir: string;
  let served: Record<string, unknown>;

  beforeAll(async () => {
    testApp = await createTestApp();
    dir = await mkdtemp(join(tmpdir(), "neoadmin-openapi-"));
    const response = await testApp.request("/openapi.json");
    expect(response.status).toBe(200);
    served = (await response.json()) as Record<string, unknown>;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await testApp?.close();
  });

  it("finds no error in the served document", async () => {
    const file = join(dir, "openapi.json");
    await writeFile(file, JSON.stringify(served, null, 2));
    const report = await lint(file);

    const warnings = report.problems.filter((p) => p.severity !== "error");
    if (warnings.length > 0) console.warn(warnings.map(describeProblem).join("\n"));
    expect(report.problems.filter((p) => p.severity === "error").map(describeProblem)).toEqual([]);
    expect(report.totals.errors).toBe(0);
  }, 30_000);

  it("does fail a broken document (the lint is really running)", async () => {
    // A copy, so the served document stays untouched for the other test.
    const broken = structuredClone(served);
    const paths = broken.paths as Record<string, Record<string, { operationId?: string }>>;
    const [a, b] = Object.values(paths).flatMap((item) => Object.values(item));
    if (!a || !b) throw new Error("the document has fewer than two operations");
    b.operationId = a.operationId;
    const file = join(dir, "broken.json");
    await writeFile(file, JSON.stringify(broken));

    const report = await lint(file);
    expect(report.problems.map((p) => p.ruleId)).toContain("operation-operationId-unique");
    expect(report.totals.errors).toBeGreaterThan(0);
  }, 30_000);
});
