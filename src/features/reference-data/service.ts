import type { z } from "@hono/zod-openapi";
import { sha256HexSync } from "../../core/auth/token-hash";
import { type CacheKey, keys } from "../../core/cache/keys";
import {
  type CachedJson,
  type ReadThroughOptions,
  readThrough,
} from "../../core/cache/read-through";
import { ApiError } from "../../core/http/errors";
import { pagination } from "../../core/http/pagination";
import type { Page, ReferenceDataRepository } from "./repository";
import {
  type CountryListQuery,
  CountrySchema,
  type CurrencyListQuery,
  CurrencySchema,
  type LanguageListQuery,
  LanguageSchema,
} from "./schemas";

/** Cache lifetimes of the original, kept: reference data changes with ISO publications. */
export const TTL = {
  activeList: 24 * 3600,
  item: 12 * 3600,
  filteredList: 6 * 3600,
} as const;

export interface ReferenceDataContext {
  repository: ReferenceDataRepository;
  cache: ReadThroughOptions;
}

/** Rows carry Date objects; the API speaks ISO 8601 text. */
function plain(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row))
    out[key] = value instanceof Date ? value.toISOString() : value;
  return out;
}

/** Parse what we return: only the schema's fields leave, in the schema's types. */
function shape<T extends z.ZodTypeAny>(schema: T, rows: object[]) {
  return rows.map((row) => schema.parse(plain(row)) as z.infer<T>);
}

function listKey(query: object): string {
  const canonical = JSON.stringify(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : 1)));
  return sha256HexSync(canonical).slice(0, 32);
}

type ListKind = "currencies" | "countries" | "languages";

/**
 * The cache key of a list query, remembered per frozen query object: the routes hand the same
 * frozen object for the same query string, so a warm request neither hashes nor builds the key.
 * A query object that could still change is keyed afresh each time.
 */
const listKeys: Record<ListKind, WeakMap<object, CacheKey>> = {
  currencies: new WeakMap(),
  countries: new WeakMap(),
  languages: new WeakMap(),
};

function listCacheKey(kind: ListKind, query: object): CacheKey {
  if (!Object.isFrozen(query)) return keys.ref(kind, "list", listKey(query));
  let key = listKeys[kind].get(query);
  if (key === undefined) {
    key = keys.ref(kind, "list", listKey(query));
    listKeys[kind].set(query, key);
  }
  return key;
}

function pageOf<T extends z.ZodTypeAny>(
  schema: T,
  result: Page<object>,
  q: { page: number; page_size: number },
) {
  return {
    items: shape(schema, result.rows),
    pagination: pagination(q.page, q.page_size, result.total),
  };
}

/**
 * Unknown codes are cached too (as `null`, for an item's TTL): a client probing random codes
 * then costs the database nothing after the first miss.
 */
async function item(
  ctx: ReferenceDataContext,
  key: ReturnType<typeof keys.ref>,
  label: string,
  load: () => Promise<object | undefined>,
  schema: z.ZodTypeAny,
): Promise<CachedJson> {
  const cached = await readThrough(ctx.cache, key, TTL.item, async () => {
    const row = await load();
    return row ? schema.parse(plain(row)) : null;
  });
  if (cached.json === "null") throw ApiError.notFound(`${label} not found`);
  return cached;
}

/**
 * The cache key of every reference-data read, in one place: the service reads through them and
 * the warm-read fast lane (./fast-lane.ts) looks them up in the in-process tier.
 */
export const referenceKeys = {
  currencies: (q: CurrencyListQuery) => listCacheKey("currencies", q),
  activeCurrencies: () => keys.ref("currencies", "active"),
  currency: (code: string) => keys.ref("currency", code),
  countries: (q: CountryListQuery) => listCacheKey("countries", q),
  countriesOnContinent: (continent: string) =>
    keys.ref("countries", "continent", continent.replace(/ /g, "_")),
  gdprCountries: () => keys.ref("countries", "gdpr"),
  country: (code: string) => keys.ref("country", code),
  countryByCode3: (code3: string) => keys.ref("country", "code3", code3),
  languages: (q: LanguageListQuery) => listCacheKey("languages", q),
  activeLanguages: () => keys.ref("languages", "active"),
  language: (code: string) => keys.ref("language", code),
  languageByIso6391: (code: string) => keys.ref("language", "iso639-1", code),
};

export const referenceData = {
  async listCurrencies(ctx: ReferenceDataContext, q: CurrencyListQuery) {
    return readThrough(ctx.cache, referenceKeys.currencies(q), TTL.filteredList, async () =>
      pageOf(CurrencySchema, await ctx.repository.listCurrencies(q), q),
    );
  },
  activeCurrencies(ctx: ReferenceDataContext) {
    return readThrough(ctx.cache, referenceKeys.activeCurrencies(), TTL.activeList, async () =>
      shape(CurrencySchema, await ctx.repository.activeCurrencies()),
    );
  },
  currency(ctx: ReferenceDataContext, code: string) {
    return item(
      ctx,
      referenceKeys.currency(code),
      `Currency ${code}`,
      () => ctx.repository.currency(code),
      CurrencySchema,
    );
  },

  async listCountries(ctx: ReferenceDataContext, q: CountryListQuery) {
    return readThrough(ctx.cache, referenceKeys.countries(q), TTL.filteredList, async () =>
      pageOf(CountrySchema, await ctx.repository.listCountries(q), q),
    );
  },
  countriesOnContinent(ctx: ReferenceDataContext, continent: string) {
    const key = referenceKeys.countriesOnContinent(continent);
    return readThrough(ctx.cache, key, TTL.activeList, async () =>
      shape(CountrySchema, await ctx.repository.countriesOnContinent(continent)),
    );
  },
  gdprCountries(ctx: ReferenceDataContext) {
    return readThrough(ctx.cache, referenceKeys.gdprCountries(), TTL.activeList, async () =>
      shape(CountrySchema, await ctx.repository.gdprCountries()),
    );
  },
  country(ctx: ReferenceDataContext, code: string) {
    return item(
      ctx,
      referenceKeys.country(code),
      `Country ${code}`,
      () => ctx.repository.country(code),
      CountrySchema,
    );
  },
  countryByCode3(ctx: ReferenceDataContext, code3: string) {
    return item(
      ctx,
      referenceKeys.countryByCode3(code3),
      `Country ${code3}`,
      () => ctx.repository.countryByCode3(code3),
      CountrySchema,
    );
  },

  async listLanguages(ctx: ReferenceDataContext, q: LanguageListQuery) {
    return readThrough(ctx.cache, referenceKeys.languages(q), TTL.filteredList, async () =>
      pageOf(LanguageSchema, await ctx.repository.listLanguages(q), q),
    );
  },
  activeLanguages(ctx: ReferenceDataContext) {
    return readThrough(ctx.cache, referenceKeys.activeLanguages(), TTL.activeList, async () =>
      shape(LanguageSchema, await ctx.repository.activeLanguages()),
    );
  },
  language(ctx: ReferenceDataContext, code: string) {
    return item(
      ctx,
      referenceKeys.language(code),
      `Language ${code}`,
      () => ctx.repository.language(code),
      LanguageSchema,
    );
  },
  languageByIso6391(ctx: ReferenceDataContext, code: string) {
    return item(
      ctx,
      referenceKeys.languageByIso6391(code),
      `Language ${code}`,
      () => ctx.repository.languageByIso6391(code),
      LanguageSchema,
    );
  },
};
