/**
 * The docs pages load every script and stylesheet from this server, never from a CDN: they must
 * render on machines and networks without internet access, under a CSP that allows only 'self'.
 * The files ship in npm packages; each runtime provides them its own way (see DocsAssets).
 */
export const docsAssetFiles = {
  "scalar.js": {
    path: "@scalar/api-reference/dist/browser/standalone.js",
    type: "text/javascript",
  },
  "swagger-ui.css": { path: "swagger-ui-dist/swagger-ui.css", type: "text/css" },
  "swagger-ui-bundle.js": { path: "swagger-ui-dist/swagger-ui-bundle.js", type: "text/javascript" },
  "swagger-ui-standalone-preset.js": {
    path: "swagger-ui-dist/swagger-ui-standalone-preset.js",
    type: "text/javascript",
  },
  "redoc.standalone.js": { path: "redoc/bundles/redoc.standalone.js", type: "text/javascript" },
} as const;

export type DocsAssetName = keyof typeof docsAssetFiles;

/** Returns the asset's bytes, or null when this runtime cannot provide it. */
export type DocsAssets = (name: DocsAssetName) => Promise<ArrayBuffer | Uint8Array | null>;

export function isDocsAsset(name: string): name is DocsAssetName {
  return Object.hasOwn(docsAssetFiles, name);
}
