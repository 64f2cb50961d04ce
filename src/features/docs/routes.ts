import type { Context } from "hono";
import type { AppEnv } from "../../core/deps";
import { ApiError } from "../../core/http/errors";
import { createRouter } from "../../core/http/router";
import { type DocsAssets, docsAssetFiles, isDocsAsset } from "./assets";
import type { OpenApiDocument } from "./document";

export type { DocsAssets } from "./assets";

/**
 * Docs pages: only this origin's scripts and styles. The UIs inject inline styles and Swagger UI
 * and ReDoc render images from data: URLs and spawn blob: workers, so those are allowed and
 * nothing else (no inline scripts: each page's configuration lives in a served script).
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const initScripts: Record<string, string> = {
  "scalar-init.js": `Scalar.createApiReference("#app", {
  url: "/openapi.json",
  withDefaultFonts: false,
  hideClientButton: false,
  telemetry: false,
  showDeveloperTools: "never",
  persistAuth: false
});
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
  "redoc-init.js": `Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc"));
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
<script src="/docs/assets/scalar.js"></script>
<script src="/docs/assets/scalar-init.js"></script>`,
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
    const script = initScripts[name];
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
