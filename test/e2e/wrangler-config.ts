import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { promisify } from "node:util";

/** wrangler.toml settings that hold paths or need them; only the ones below are rewritten. */
const PATH_SETTINGS = ["main", "assets", "site", "build", "tsconfig", "base_dir", "rules", "alias"];
const REWRITTEN = new Set(["main", "assets"]);

/**
 * The project's wrangler.toml with more Hyperdrive bindings, written as `<dir>/wrangler.json`
 * for `wrangler dev --config`. wrangler resolves `main` and `assets.directory` against the
 * config's own folder, so they are made absolute; any other setting that takes a path makes this
 * fail rather than silently point elsewhere. The bindings get placeholder ids: `wrangler dev`
 * connects to `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>` instead.
 */
export async function wranglerConfigWith(options: {
  root: string;
  dir: string;
  hyperdrive: readonly string[];
}): Promise<string> {
  const { root, dir } = options;
  // Bun (a dependency already) parses TOML; wrangler's own reader takes seconds to import.
  const { stdout } = await promisify(execFile)(join(root, "node_modules/.bin/bun"), [
    "-e",
    "process.stdout.write(JSON.stringify(Bun.TOML.parse(await Bun.file(process.argv[1]).text())))",
    join(root, "wrangler.toml"),
  ]);
  const config = JSON.parse(stdout) as {
    main: string;
    assets: { directory: string };
    hyperdrive?: { binding: string; id: string }[];
    [setting: string]: unknown;
  };
  for (const setting of PATH_SETTINGS) {
    if (setting in config && !REWRITTEN.has(setting)) {
      throw new Error(
        `wrangler.toml has \`${setting}\`: make its paths absolute in ${import.meta.filename}`,
      );
    }
  }
  config.main = resolve(root, config.main);
  config.assets.directory = resolve(root, config.assets.directory);
  for (const path of [config.main, config.assets.directory]) {
    if (!isAbsolute(path) || !existsSync(path)) throw new Error(`${path} does not exist`);
  }
  config.hyperdrive = [
    ...(config.hyperdrive ?? []),
    ...options.hyperdrive.map((binding, index) => ({
      binding,
      id: (index + 1).toString(16).padStart(32, "e"),
    })),
  ];
  const file = join(dir, "wrangler.json");
  await writeFile(file, JSON.stringify(config, null, 2));
  return file;
}
