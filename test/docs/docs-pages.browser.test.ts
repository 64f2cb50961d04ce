import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../support/harness";
import { type NodeServer, serve } from "../support/serve-node";

/**
 * The docs pages in a real browser, over real HTTP: each UI lists the operations, loads nothing
 * from any other origin and trips no CSP rule. Debian's chromium (installed by .ci/run) runs them;
 * without it the file is skipped on a laptop but fails in CI, where it must run.
 */
const CHROMIUM = "/usr/bin/chromium";
/** In CI (`CI` set, and not to "false" or "0") the file must run: a missing browser fails it. */
const inCi = !["", "false", "0"].includes((process.env.CI ?? "").toLowerCase());
const runnable = existsSync(CHROMIUM) || inCi;
/** Set to a folder to keep a screenshot of each page, to see what the browser rendered. */
const screenshotDir = process.env.DOCS_SCREENSHOT_DIR;

const summaries = [
  "List currencies (ISO 4217)",
  "Get a country by ISO 3166-1 alpha-2 code",
  "List languages (ISO 639)",
  "Readiness probe",
];

/**
 * Scalar lists a tag's operations once its sidebar entry is opened (the other UIs list them all):
 * open every group and tag, leaving the schemas ("Models") closed.
 */
async function openScalarSidebar(page: Page) {
  const closed = page.getByRole("button", { name: /^Open Group - (?!Models$)/ });
  await closed.first().waitFor({ timeout: 15_000 });
  for (let opened = 0; opened < 50 && (await closed.count()) > 0; opened++) {
    await closed.first().click();
  }
}

const pages: { path: string; ui: string; reveal?: (page: Page) => Promise<void> }[] = [
  { path: "/docs", ui: "Scalar", reveal: openScalarSidebar },
  { path: "/swagger", ui: "Swagger UI" },
  { path: "/redoc", ui: "ReDoc" },
];

describe.skipIf(!runnable)("docs pages in a browser", () => {
  let testApp: TestApp;
  let server: NodeServer;
  let browser: Browser;

  beforeAll(async () => {
    testApp = await createTestApp();
    server = await serve((request) => testApp.app.fetch(request));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // No sandbox (CI runs as root in a container), and none of Chromium's own background
      // traffic, so every request the test sees comes from the page.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await testApp?.close();
  });

  it.each(pages)(
    "$ui at $path lists the operations, offline, within the CSP",
    async ({ path, reveal }) => {
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
      const page = await context.newPage();
      const foreign: string[] = [];
      const cspViolations: string[] = [];
      const pageErrors: string[] = [];

      const isLocal = (url: string) =>
        url.startsWith(`${server.url}/`) || url.startsWith("data:") || url.startsWith("blob:");
      page.on("request", (request) => {
        if (!isLocal(request.url())) foreign.push(request.url());
      });
      // Abort rather than let a foreign request out: the test stays offline and fast either way.
      await context.route(
        (url) => !isLocal(url.href),
        (route) => route.abort(),
      );
      page.on("console", (message) => {
        if (message.text().includes("Content Security Policy")) cspViolations.push(message.text());
      });
      page.on("pageerror", (error) => pageErrors.push(error.message));
      // The console misses violations in some contexts; the DOM event reports every one.
      await page.addInitScript(() => {
        document.addEventListener("securitypolicyviolation", (event) => {
          console.error(
            `Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`,
          );
        });
      });

      const response = await page.goto(`${server.url}${path}`, { waitUntil: "load" });
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");

      await reveal?.(page);
      for (const summary of summaries) {
        const shown = page.getByText(summary, { exact: true }).filter({ visible: true });
        await expect
          .poll(() => shown.count(), {
            message: `"${summary}" is shown`,
            timeout: 15_000,
          })
          .toBeGreaterThan(0);
      }
      await page.waitForLoadState("networkidle");
      if (screenshotDir) {
        await page.screenshot({
          path: join(screenshotDir, `docs${path.replaceAll("/", "-")}.png`),
        });
      }

      expect(foreign, "requests to other origins").toEqual([]);
      expect(cspViolations, "CSP violations").toEqual([]);
      expect(pageErrors, "uncaught errors").toEqual([]);
      await context.close();
    },
    // A cold Chromium parsing a multi-megabyte bundle on a busy CI machine.
    45_000,
  );
});
