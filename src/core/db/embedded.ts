import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * The embedded default: PostgreSQL compiled to WASM (PGlite), served on a loopback port by
 * pglite-socket so the same postgres.js code reaches it as it reaches a real server.
 * PGlite is one serialised session: clients must use a pool of exactly one connection.
 */
export interface EmbeddedPostgres {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(options: {
  /** Folder for the data files; undefined keeps everything in memory (tests). */
  dataDir?: string;
  name: string;
  port?: number;
}): Promise<EmbeddedPostgres> {
  let dataDir: string | undefined;
  if (options.dataDir) {
    dataDir = join(options.dataDir, options.name);
    await mkdir(dataDir, { recursive: true });
  }
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: options.port ?? 0,
    maxConnections: 4,
  });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
