import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { type DocsAssets, docsAssetFiles } from "./assets";

/** Bun and Node: the assets straight from node_modules, read once and kept in memory. */
export function nodeModulesDocsAssets(): DocsAssets {
  const require = createRequire(import.meta.url);
  const loaded = new Map<string, Promise<Uint8Array | null>>();
  return (name) => {
    let file = loaded.get(name);
    if (!file) {
      file = readFile(require.resolve(docsAssetFiles[name].path)).catch(() => null);
      loaded.set(name, file);
    }
    return file;
  };
}
