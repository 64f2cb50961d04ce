import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

/**
 * The docs pages in a real browser, over real HTTP: each UI lists the operations, loads nothing
 * from any other origin and trips no CSP rule. Debian's chromium (installed by .ci/run) runs
 * them; without it the tests are skipped on a laptop but fail in CI, where they must run. Used
 * by test/docs/docs-pages.browser.test.ts (the Bun-side app in process) and the end-to-end suite
 * (the Bun server and `wrangler dev`, whose assets come from the Workers assets binding).
 */
export const CHROMIUM = "/usr/bin/chromium";
/** In CI (`CI` set, and not to "false" or "0") the browser tests must run: a missing browser fails them. */
const inCi = !["", "false", "0"].includes((process.env.CI ?? "").toLowerCase());
export const browserTestsRunnable = existsSync(CHROMIUM) || inCi;
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

export interface DocsPage {
  path: string;
  ui: string;
  reveal?: (page: Page) => Promise<void>;
}

export const docsPages: DocsPage[] = [
  { path: "/docs", ui: "Scalar", reveal: openScalarSidebar },
  { path: "/swagger", ui: "Swagger UI" },
  { path: "/redoc", ui: "ReDoc" },
];

/** A headless Chromium with none of its own background traffic (every request is the page's). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // No sandbox (CI runs as root in a container).
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
}

/** Opens one docs page of the server at `base` and checks what the file comment promises. */
export async function expectDocsPageWorks(
  browser: Browser,
  base: string,
  { path, reveal }: DocsPage,
  screenshotName = `docs${path.replaceAll("/", "-")}`,
): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  try {
    const page = await context.newPage();
    const foreign: string[] = [];
    const cspViolations: string[] = [];
    const pageErrors: string[] = [];

    const isLocal = (url: string) =>
      url.startsWith(`${base}/`) || url.startsWith("data:") || url.startsWith("blob:");
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

    const response = await page.goto(`${base}${path}`, { waitUntil: "load" });
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");

    await reveal?.(page);
    for (const summary of summaries) {
      const shown = page.getByText(summary, { exact: true }).filter({ visible: true });
      await expect
        .poll(() => shown.count(), { message: `"${summary}" is shown`, timeout: 15_000 })
        .toBeGreaterThan(0);
    }
    await page.waitForLoadState("networkidle");
    if (screenshotDir)
      await page.screenshot({ path: join(screenshotDir, `${screenshotName}.png`) });

    expect(foreign, "requests to other origins").toEqual([]);
    expect(cspViolations, "CSP violations").toEqual([]);
    expect(pageErrors, "uncaught errors").toEqual([]);
  } finally {
    await context.close();
  }
}
