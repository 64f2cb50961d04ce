/**
 * Copies the docs UIs' scripts and stylesheets from node_modules into `.wrangler-assets/docs/assets/`,
 * the static-assets directory of the Worker (wrangler.toml `[assets]`). Run by `npm run dev:worker`
 * and `npm run build:worker`; on Bun the server reads the same files from node_modules directly.
 *
 * The list is src/features/docs/assets.ts itself, transpiled with the project's TypeScript, so the
 * two runtimes can never serve different sets. That module must stay free of imports for this.
 *
 *   node scripts/copy-docs-assets.mjs [--out <dir>]
 */
import { copyFile, mkdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFlag = process.argv.indexOf("--out");
const outRoot = resolve(
  outFlag > -1 ? (process.argv[outFlag + 1] ?? "") : join(root, ".wrangler-assets"),
);
const target = join(outRoot, "docs/assets");
/** Workers static assets refuse larger files. */
const MAX_ASSET_BYTES = 25 * 1024 * 1024;

async function loadAssetList() {
  const source = await readFile(join(root, "src/features/docs/assets.ts"), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  if (/^\s*import\s/m.test(outputText)) {
    throw new Error("src/features/docs/assets.ts must not import anything (it is evaluated alone)");
  }
  const url = `data:text/javascript;base64,${Buffer.from(outputText).toString("base64")}`;
  const { docsAssetFiles } = await import(url);
  return docsAssetFiles;
}

const files = await loadAssetList();
// A fresh directory, so a file dropped from the list is not deployed any longer.
await rm(target, { recursive: true, force: true });
await mkdir(target, { recursive: true });
let total = 0;
for (const [name, { path }] of Object.entries(files)) {
  // Not require.resolve: these files are outside their packages' "exports" maps.
  const from = join(root, "node_modules", path);
  const { size } = await stat(from);
  if (size > MAX_ASSET_BYTES) throw new Error(`${path} is ${size} bytes, over the Workers limit`);
  await copyFile(from, join(target, name));
  total += size;
}
console.log(
  `copied ${Object.keys(files).length} docs assets (${(total / 1048576).toFixed(1)} MiB) to ${target}`,
);
