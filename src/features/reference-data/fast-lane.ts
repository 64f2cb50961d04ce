import type { z } from "@hono/zod-openapi";
import type { CacheKey } from "../../core/cache/keys";
import type { LocalCache } from "../../core/cache/local-cache";
import type { WarmRead } from "../../core/http/fast-lane";

/** The raw query string of a URL (after `?`, empty without one): what list routes key parses by. */
export function rawQueryOf(url: string): string {
  const at = url.indexOf("?");
  return at < 0 ? "" : url.slice(at + 1);
}

type KeyOf = (url: string, segment: string) => CacheKey | undefined;

/**
 * The reference-data routes as the warm-read fast lane (src/core/http/fast-lane.ts) sees them:
 * each GET route's path and how its cache key follows from the request, registered beside the
 * route itself (./routes.ts). The lane answers a request only when that key's body is in the
 * in-process tier (`deps.localCache`), which is where the slow path would read it first.
 */
export class WarmRoutes {
  /** Paths without a parameter, in registration order (they win over a parameter route). */
  private readonly exact = new Map<string, KeyOf>();
  /** Routes whose last segment is their one path parameter, by the path before it. */
  private readonly byPrefix: { prefix: string; key: KeyOf }[] = [];

  /** A route without parameters or query: one key. */
  fixed(path: string, key: CacheKey): void {
    this.exact.set(path, () => key);
  }

  /**
   * A list route: only a query string the route has parsed already (the same cache its handler
   * fills, so only a valid one) has a key.
   */
  list<Q>(path: string, parsed: LocalCache<Q>, key: (query: Q) => CacheKey): void {
    this.exact.set(path, (url) => {
      const query = parsed.get(rawQueryOf(url));
      return query === undefined ? undefined : key(query);
    });
  }

  /**
   * A route whose last segment is its one path parameter (`/currencies/{code}`): the segment is
   * validated and transformed by the route's own parameter schema; an invalid one has no key.
   */
  param<S extends z.ZodType>(
    template: string,
    schema: S,
    key: (params: z.output<S>) => CacheKey,
  ): void {
    const at = template.indexOf("{");
    const name = template.slice(at + 1, -1);
    if (at < 0 || !template.endsWith("}") || name.includes("}") || name.includes("/")) {
      throw new Error(`not a route with one trailing path parameter: ${template}`);
    }
    this.byPrefix.push({
      prefix: template.slice(0, at),
      key: (_url, segment) => {
        const result = schema.safeParse({ [name]: segment });
        return result.success ? key(result.data) : undefined;
      },
    });
  }

  /**
   * The lane's reader for these routes mounted under `prefix` (e.g. `/api/v1`): the routes
   * registered so far (the router registers them all before it is mounted).
   */
  reader(prefix: string): WarmRead {
    // Keyed by the full path: no prefix to strip per request.
    const exact = new Map([...this.exact].map(([path, key]) => [prefix + path, key]));
    const byPrefix = this.byPrefix.map((route) => ({ ...route, prefix: prefix + route.prefix }));
    return (path, url, deps) => {
      const key = keyOf(exact, byPrefix, path, url);
      if (key === undefined) return undefined;
      const cached = deps.localCache.get(key);
      // `null` is a cached unknown code: the slow path answers it with a 404.
      return cached === undefined || cached.json === "null" ? undefined : cached;
    };
  }
}

function keyOf(
  exact: Map<string, KeyOf>,
  byPrefix: { prefix: string; key: KeyOf }[],
  path: string,
  url: string,
): CacheKey | undefined {
  const found = exact.get(path);
  if (found !== undefined) return found(url, "");
  for (const { prefix, key } of byPrefix) {
    if (!path.startsWith(prefix)) continue;
    const segment = path.slice(prefix.length);
    if (segment === "" || segment.includes("/")) continue;
    return key(url, segment);
  }
  return undefined;
}
