import { access, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DocsAssets, docsAssetFiles } from "./assets";

/** Bun and Node: the assets straight from node_modules, read once and kept in memory. */
export function nodeModulesDocsAssets(): DocsAssets {
  const loaded = new Map<string, Promise<Uint8Array | null>>();
  return (name) => {
    const cached = loaded.get(name);
    if (cached) return cached;
    const file: Promise<Uint8Array | null> = locate(docsAssetFiles[name].path)
      .then((path) => readFile(path))
      .catch(() => null);
    loaded.set(name, file);
    return file;
  };
}

/**
 * Node's own lookup (the nearest node_modules upwards), done by hand: require.resolve refuses
 * these files because they sit outside their packages' "exports" maps (Scalar's standalone.js).
 */
async function locate(path: string): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "node_modules", path);
    try {
      await access(candidate);
      return candidate;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) throw new Error(`${path} is not installed`);
      dir = parent;
    }
  }
}
