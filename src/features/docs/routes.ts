import type { Context } from "hono";
import type { AppEnv } from "../../core/deps";
import { ApiError } from "../../core/http/errors";
import { createRouter } from "../../core/http/router";
import { type DocsAssets, docsAssetFiles, isDocsAsset } from "./assets";
import type { OpenApiDocument } from "./document";

export type { DocsAssets } from "./assets";

/**
 * Docs pages: only this origin's scripts, styles, fonts and data, and no inline script (each
 * page's configuration is a served script). The relaxations are what the bundles need, each one
 * seen to be refused without it (test/docs/docs-pages.browser.test.ts):
 * - style-src 'unsafe-inline': all three UIs inject <style> elements and style attributes at
 *   runtime (Vue, React with styled-components), with contents no hash could pin down;
 * - img-src data: Swagger UI's icons are data: SVGs in its stylesheet;
 * - worker-src blob: ReDoc runs its search index in a worker built from a blob: URL.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const initScripts: Record<string, string> = {
  // Nothing that reaches Scalar's services: fonts, telemetry, the "Open API Client" button
  // (client.scalar.com) and "Ask AI" (its hosted agent, on by default on localhost) are off.
  // Scalar's bundled zod probes for eval (`Function("")`) while the bundle loads, to compile its
  // parsers: the CSP refuses it and zod falls back, but the probe is a reported violation. Its
  // jitless mode (the shared global behind `z.config({ jitless: true })`) skips the probe, so no
  // 'unsafe-eval': this script runs before the bundle, and renders once the bundle has loaded.
  "scalar-init.js": `(globalThis.__zod_globalConfig ??= {}).jitless = true;
document.addEventListener("DOMContentLoaded", () => Scalar.createApiReference("#app", {
  url: "/openapi.json",
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: "never",
  persistAuth: false
}));
`,
  "swagger-init.js": `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  validatorUrl: null
});
`,
  // ReDoc's sidebar credit always loads its logo from cdn.redoc.ly, and no option turns it off.
  // React sets an image's source as an attribute and again as a property: both are pointed at an
  // empty local image before the request can leave the page.
  "redoc-init.js": `(() => {
  const blank = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  const local = (value) => (String(value).startsWith("https://cdn.redoc.ly/") ? blank : value);
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, name === "src" ? local(value) : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      src.set.call(this, local(value));
    },
  });
})();
Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc"));
`,
};

function page(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}
</head>
<body>
${body}
</body>
</html>`;
}

const pages: Record<string, string> = {
  "/docs": page(
    "NeoAdmin API · Reference",
    "",
    `<div id="app"></div>
<script src="/docs/assets/scalar-init.js"></script>
<script src="/docs/assets/scalar.js"></script>`,
  ),
  "/swagger": page(
    "NeoAdmin API · Swagger UI",
    `<link rel="stylesheet" href="/docs/assets/swagger-ui.css">`,
    `<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/swagger-init.js"></script>`,
  ),
  "/redoc": page(
    "NeoAdmin API · ReDoc",
    "",
    `<div id="redoc"></div>
<script src="/docs/assets/redoc.standalone.js"></script>
<script src="/docs/assets/redoc-init.js"></script>`,
  ),
};

function html(c: Context<AppEnv>, body: string) {
  c.header("Content-Security-Policy", DOCS_CSP);
  c.header("Cache-Control", "no-cache");
  return c.html(body);
}

/**
 * `/openapi.json`, the three docs UIs and their assets. Plain Hono routes, not OpenAPI
 * operations: they document the API rather than belong to it.
 */
export function docsRoutes(options: { document: () => OpenApiDocument; assets?: DocsAssets }) {
  const router = createRouter();

  router.get("/openapi.json", (c) => {
    c.header("Cache-Control", "no-cache");
    return c.json(options.document());
  });
  for (const [path, body] of Object.entries(pages)) router.get(path, (c) => html(c, body));

  router.get("/docs/assets/:name", async (c) => {
    const name = c.req.param("name");
    // Own keys only: `toString` and friends are not scripts.
    const script = Object.hasOwn(initScripts, name) ? initScripts[name] : undefined;
    c.header("Cache-Control", "public, max-age=3600");
    if (script !== undefined) {
      c.header("Content-Type", "text/javascript; charset=utf-8");
      return c.body(script);
    }
    if (!isDocsAsset(name)) throw ApiError.notFound(`No docs asset ${name}`);
    const bytes = await options.assets?.(name);
    if (!bytes) throw ApiError.notFound(`Docs asset ${name} is not available on this runtime`);
    c.header("Content-Type", `${docsAssetFiles[name].type}; charset=utf-8`);
    return c.body(bytes as Uint8Array<ArrayBuffer>);
  });

  return router;
}
