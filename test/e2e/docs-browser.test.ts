import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import {
  browserTestsRunnable,
  docsPages,
  expectDocsPageWorks,
  launchBrowser,
} from "../support/docs-browser";

/**
 * The docs pages in headless Chromium on both runtimes: on Bun the UI assets come from
 * node_modules, on Workers from the static-assets binding (`wrangler dev`, real workerd). Each
 * must list the operations offline, within its CSP.
 */
const { bunUrl, workerUrl } = inject("e2e");

describe.skipIf(!browserTestsRunnable)("docs pages in a browser, on each runtime", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe.each([
    ["bun", bunUrl],
    ["workers", workerUrl],
  ])("%s", (runtime, base) => {
    it.each(docsPages)(
      "$ui at $path",
      (docsPage) =>
        expectDocsPageWorks(
          browser,
          base,
          docsPage,
          `${runtime}${docsPage.path.replaceAll("/", "-")}`,
        ),
      45_000,
    );
  });
});
