import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, it } from "vitest";
import {
  browserTestsRunnable,
  docsPages,
  expectDocsPageWorks,
  launchBrowser,
} from "../support/docs-browser";
import { createTestApp, type TestApp } from "../support/harness";
import { type NodeServer, serve } from "../support/serve-node";

/**
 * The docs pages of the app (assets from node_modules, as on Bun) in headless Chromium, over
 * real HTTP. The end-to-end suite opens the same pages on the Bun server and on `wrangler dev`.
 */
describe.skipIf(!browserTestsRunnable)("docs pages in a browser", () => {
  let testApp: TestApp;
  let server: NodeServer;
  let browser: Browser;

  beforeAll(async () => {
    testApp = await createTestApp();
    server = await serve((request) => testApp.app.fetch(request));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await testApp?.close();
  });

  it.each(docsPages)(
    "$ui at $path lists the operations, offline, within the CSP",
    (docsPage) => expectDocsPageWorks(browser, server.url, docsPage),
    // A cold Chromium parsing a multi-megabyte bundle on a busy CI machine.
    45_000,
  );
});
