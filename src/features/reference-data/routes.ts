import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Sql } from "postgres";
import { readerGate } from "../../core/auth/reader-gate";
import type { CacheKey } from "../../core/cache/keys";
import { LocalCache } from "../../core/cache/local-cache";
import type { CachedJson } from "../../core/cache/read-through";
import type { AppEnv } from "../../core/deps";
import { cachedJsonResponse } from "../../core/http/cached-response";
import { errorResponses, jsonEnvelope } from "../../core/http/openapi";
import { paginated } from "../../core/http/pagination";
import { createRouter, type Router } from "../../core/http/router";
import { validationHook } from "../../core/http/validation";
import { rawQueryOf, WarmRoutes } from "./fast-lane";
import { type ReferenceDataRepository, referenceDataRepository } from "./repository";
import {
  ContinentParam,
  CountryCode3Param,
  CountryCodeParam,
  CountryListQuery,
  CountrySchema,
  CurrencyCodeParam,
  CurrencyListQuery,
  CurrencySchema,
  Iso6391Param,
  LanguageCodeParam,
  LanguageListQuery,
  LanguageSchema,
} from "./schemas";
import { type ReferenceDataContext, referenceData, referenceKeys } from "./service";

/** Every reference-data operation is readable by a guest session; this is what they declare. */
const security: Record<string, string[]>[] = [{ GuestSession: [] }, { BearerAuth: [] }];
const conditionalHeaders = {
  ETag: {
    description: "Weak validator of `data`; send it back as `If-None-Match`.",
    schema: { type: "string" as const },
  },
  "Cache-Control": {
    description: "How long the response may be reused.",
    schema: { type: "string" as const },
  },
  "X-Guest-Session": {
    description: "A new guest session token, present when this request created the session.",
    schema: { type: "string" as const },
  },
};

function ok<T extends z.ZodTypeAny>(schema: T, description: string) {
  return {
    200: { ...jsonEnvelope(schema, description), headers: conditionalHeaders },
    304: { description: "Not modified: the `If-None-Match` ETag is current." },
  };
}

type RouteRequest = NonNullable<RouteConfig["request"]>;

function route<const P extends string, const Req extends RouteRequest = RouteRequest>(config: {
  path: P;
  operationId: string;
  tag: "Currencies" | "Countries" | "Languages";
  summary: string;
  description?: string;
  request?: Req;
  data: z.ZodTypeAny;
  notFound?: boolean;
}) {
  return createRoute({
    method: "get",
    path: config.path,
    operationId: config.operationId,
    tags: [config.tag],
    summary: config.summary,
    description: config.description,
    security,
    request: config.request as Req,
    responses: {
      ...ok(config.data, config.summary),
      ...errorResponses(400, 429, ...(config.notFound ? ([404] as const) : [])),
    },
  });
}

/** One repository per database handle (per process on Bun, per request on Workers). */
const repositories = new WeakMap<Sql, ReferenceDataRepository>();

function ctxOf(c: Context<AppEnv>): ReferenceDataContext {
  // `c.get`, not `c.var`: Hono's `c.var` copies every variable into a new object per access.
  const { db, cache, localCache, logger } = c.get("deps");
  let repository = repositories.get(db);
  if (repository === undefined) {
    repository = referenceDataRepository(db);
    repositories.set(db, repository);
  }
  return { repository, cache: { cache, local: localCache, logger } };
}

/** Distinct query strings whose parsed query is remembered, per list route, and their length. */
const PARSED_QUERIES_MAX = 1000;
const PARSED_QUERY_MAX_LENGTH = 256;

/**
 * A list route, registered as `router.openapi` would (the same OpenAPI definition, the same 400
 * for an invalid query, through the routers' validation hook), except that the query is parsed
 * once per distinct query string instead of by a zod validator on every request: the parsed
 * query is a pure function of that string. Each parsed query is frozen and shared by every
 * request with that string, so the service can key its cache by the object. The fast lane reads
 * the same parsed queries (`lane.list`).
 */
function listRoute<S extends z.ZodTypeAny>(
  router: Router,
  lane: WarmRoutes,
  config: ReturnType<typeof route>,
  schema: S,
  load: (ctx: ReferenceDataContext, query: z.output<S>) => Promise<CachedJson>,
  key: (query: z.output<S>) => CacheKey,
) {
  router.openAPIRegistry.registerPath({ ...config });
  const parsed = new LocalCache<z.output<S>>({ maxEntries: PARSED_QUERIES_MAX });
  const parse = async (c: Context<AppEnv>, raw: string) => {
    // What Hono's query validator hands zod: one value per name, an array when repeated.
    const value = Object.fromEntries(
      Object.entries(c.req.queries()).map(([k, v]) => (v.length === 1 ? [k, v[0]] : [k, v])),
    );
    const result = await schema.safeParseAsync(value);
    if (!result.success) {
      // The hook answers every failed result (400 in the envelope).
      return validationHook(
        { success: false, error: result.error, target: "query" },
        c,
      ) as Response;
    }
    const query = Object.freeze(result.data) as z.output<S>;
    if (raw.length <= PARSED_QUERY_MAX_LENGTH) parsed.set(raw, query, 3600);
    return query;
  };
  router.get(config.path, async (c) => {
    const raw = rawQueryOf(c.req.url);
    const query = parsed.get(raw) ?? (await parse(c, raw));
    if (query instanceof Response) return query;
    return cachedJsonResponse(c, await load(ctxOf(c), query));
  });
  lane.list(config.path, parsed, key);
}

/**
 * The reference-data router, and `warmReads(prefix)`: its routes for the warm-read fast lane
 * (ADR 0016), given where the router is mounted. Every GET route registers itself with the lane
 * beside its handler, with the cache key its handler reads.
 */
export function referenceDataRoutes() {
  const router = createRouter();
  const lane = new WarmRoutes();
  // Scoped to this router's own paths: it is mounted beside others under /api/v1.
  const gate = readerGate();
  // Hono's `/x/*` also matches `/x` itself: one registration per resource, or the gate runs twice.
  for (const resource of ["/currencies", "/countries", "/languages"])
    router.use(`${resource}/*`, gate);

  listRoute(
    router,
    lane,
    route({
      path: "/currencies",
      operationId: "listCurrencies",
      tag: "Currencies",
      summary: "List currencies (ISO 4217)",
      description:
        "Filter by status, kind and minor unit; `search` matches code or name. Ordered by code.",
      request: { query: CurrencyListQuery },
      data: paginated(CurrencySchema),
    }),
    CurrencyListQuery,
    referenceData.listCurrencies,
    referenceKeys.currencies,
  );
  const activeCurrencies = route({
    path: "/currencies/active",
    operationId: "listActiveCurrencies",
    tag: "Currencies",
    summary: "All active currencies",
    description:
      "Every current ISO 4217 code, unpaginated, ordered by code: for pickers and client-side caches (send the ETag back as `If-None-Match`).",
    data: z.array(CurrencySchema),
  });
  router.openapi(activeCurrencies, async (c) =>
    cachedJsonResponse(c, await referenceData.activeCurrencies(ctxOf(c))),
  );
  lane.fixed(activeCurrencies.path, referenceKeys.activeCurrencies());
  const currency = route({
    path: "/currencies/{code}",
    operationId: "getCurrency",
    tag: "Currencies",
    summary: "Get a currency by ISO 4217 code",
    description:
      "Current and withdrawn (`historical`) codes alike; 404 for a code ISO 4217 never assigned.",
    request: { params: CurrencyCodeParam },
    data: CurrencySchema,
    notFound: true,
  });
  router.openapi(currency, async (c) =>
    cachedJsonResponse(c, await referenceData.currency(ctxOf(c), c.req.valid("param").code)),
  );
  lane.param(currency.path, CurrencyCodeParam, (p) => referenceKeys.currency(p.code));

  listRoute(
    router,
    lane,
    route({
      path: "/countries",
      operationId: "listCountries",
      tag: "Countries",
      summary: "List countries (ISO 3166-1)",
      description:
        "Filter by status, continent, region, GDPR, data localisation and currency; `search` matches code, alpha-3 code or name. Ordered by name.",
      request: { query: CountryListQuery },
      data: paginated(CountrySchema),
    }),
    CountryListQuery,
    referenceData.listCountries,
    referenceKeys.countries,
  );
  const countriesOnContinent = route({
    path: "/countries/continent/{continent}",
    operationId: "listCountriesByContinent",
    tag: "Countries",
    summary: "Active countries on a continent",
    description:
      "Unpaginated, ordered by name. The Americas are North America and South America (see ADR 0004 for how continents follow from UN M49).",
    request: { params: ContinentParam },
    data: z.array(CountrySchema),
  });
  router.openapi(countriesOnContinent, async (c) =>
    cachedJsonResponse(
      c,
      await referenceData.countriesOnContinent(ctxOf(c), c.req.valid("param").continent),
    ),
  );
  lane.param(countriesOnContinent.path, ContinentParam, (p) =>
    referenceKeys.countriesOnContinent(p.continent),
  );
  const gdprCountries = route({
    path: "/countries/gdpr",
    operationId: "listGdprCountries",
    tag: "Countries",
    summary: "Active countries where the GDPR applies (EU and EEA)",
    description:
      "The EU member states, Iceland, Liechtenstein and Norway, and the EU's outermost regions that ISO 3166-1 lists separately; unpaginated, ordered by name.",
    data: z.array(CountrySchema),
  });
  router.openapi(gdprCountries, async (c) =>
    cachedJsonResponse(c, await referenceData.gdprCountries(ctxOf(c))),
  );
  lane.fixed(gdprCountries.path, referenceKeys.gdprCountries());
  const countryByCode3 = route({
    path: "/countries/code3/{code3}",
    operationId: "getCountryByCode3",
    tag: "Countries",
    summary: "Get a country by ISO 3166-1 alpha-3 code",
    description: "The same country as its alpha-2 code gives; 404 for an unassigned code.",
    request: { params: CountryCode3Param },
    data: CountrySchema,
    notFound: true,
  });
  router.openapi(countryByCode3, async (c) =>
    cachedJsonResponse(c, await referenceData.countryByCode3(ctxOf(c), c.req.valid("param").code3)),
  );
  lane.param(countryByCode3.path, CountryCode3Param, (p) => referenceKeys.countryByCode3(p.code3));
  const country = route({
    path: "/countries/{code}",
    operationId: "getCountry",
    tag: "Countries",
    summary: "Get a country by ISO 3166-1 alpha-2 code",
    description: "Any of the 249 ISO 3166-1 entries; 404 for an unassigned code.",
    request: { params: CountryCodeParam },
    data: CountrySchema,
    notFound: true,
  });
  router.openapi(country, async (c) =>
    cachedJsonResponse(c, await referenceData.country(ctxOf(c), c.req.valid("param").code)),
  );
  lane.param(country.path, CountryCodeParam, (p) => referenceKeys.country(p.code));

  listRoute(
    router,
    lane,
    route({
      path: "/languages",
      operationId: "listLanguages",
      tag: "Languages",
      summary: "List languages (ISO 639)",
      description:
        "Filter by status, writing direction and ISO 639-1 code; `search` matches code, name or native name. Ordered by name.",
      request: { query: LanguageListQuery },
      data: paginated(LanguageSchema),
    }),
    LanguageListQuery,
    referenceData.listLanguages,
    referenceKeys.languages,
  );
  const activeLanguages = route({
    path: "/languages/active",
    operationId: "listActiveLanguages",
    tag: "Languages",
    summary: "All active languages",
    description: "Unpaginated, ordered by name: for pickers and client-side caches.",
    data: z.array(LanguageSchema),
  });
  router.openapi(activeLanguages, async (c) =>
    cachedJsonResponse(c, await referenceData.activeLanguages(ctxOf(c))),
  );
  lane.fixed(activeLanguages.path, referenceKeys.activeLanguages());
  const languageByIso6391 = route({
    path: "/languages/iso639-1/{iso639_1}",
    operationId: "getLanguageByIso6391",
    tag: "Languages",
    summary: "Get a language by ISO 639-1 code",
    description: "The language whose two-letter ISO 639-1 code this is; 404 when none has it.",
    request: { params: Iso6391Param },
    data: LanguageSchema,
    notFound: true,
  });
  router.openapi(languageByIso6391, async (c) =>
    cachedJsonResponse(
      c,
      await referenceData.languageByIso6391(ctxOf(c), c.req.valid("param").iso639_1),
    ),
  );
  lane.param(languageByIso6391.path, Iso6391Param, (p) =>
    referenceKeys.languageByIso6391(p.iso639_1),
  );
  const language = route({
    path: "/languages/{code}",
    operationId: "getLanguage",
    tag: "Languages",
    summary: "Get a language by code",
    description:
      "By the language's own code (ISO 639-1 where it has one, else ISO 639-2/3, optionally with a subtag); 404 for an unknown code.",
    request: { params: LanguageCodeParam },
    data: LanguageSchema,
    notFound: true,
  });
  router.openapi(language, async (c) =>
    cachedJsonResponse(c, await referenceData.language(ctxOf(c), c.req.valid("param").code)),
  );
  lane.param(language.path, LanguageCodeParam, (p) => referenceKeys.language(p.code));

  return Object.assign(router, { warmReads: (prefix: string) => lane.reader(prefix) });
}
