import type { PendingQuery, Row, Sql } from "postgres";
import type {
  Country,
  CountryListQuery,
  Currency,
  CurrencyListQuery,
  Language,
  LanguageListQuery,
} from "./schemas";

/** SQL for platform_common's reference tables. Nothing else lives here. */

type Fragment = PendingQuery<Row[]>;

export interface Page<T> {
  rows: T[];
  total: number;
}

const currencyColumns = (sql: Sql) =>
  sql`code, numeric_code, minor_unit, name, symbol, status, is_cryptocurrency, is_legal_tender,
      created_at, updated_at`;
const countryColumns = (sql: Sql) =>
  sql`code, code3, numeric_code, name, official_name, region, continent, status, calling_code,
      default_currency_code, gdpr_applicable, data_localization_required, created_at, updated_at`;
const languageColumns = (sql: Sql) =>
  sql`code, iso639_1, iso639_2, name, native_name, status, writing_direction, created_at, updated_at`;

/** `%` and `_` in a search term are literal characters, not wildcards. */
function like(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `-name` → name desc. Fields come from the query schema's allow-list, never from free text. */
function orderBy(sql: Sql, sort: string, tieBreaker: string) {
  const descending = sort.startsWith("-");
  const field = descending ? sort.slice(1) : sort;
  return descending
    ? sql`order by ${sql(field)} desc, ${sql(tieBreaker)} asc`
    : sql`order by ${sql(field)} asc, ${sql(tieBreaker)} asc`;
}

function and(sql: Sql, conditions: Fragment[]) {
  return conditions.reduce((acc, condition) => sql`${acc} and ${condition}`, sql`true`);
}

/**
 * One round trip for a page and its total (`count(*) over ()`); a second only when the page is
 * past the end and so carries no row to read the total from.
 */
async function page<T>(
  sql: Sql,
  table: Fragment,
  columns: Fragment,
  where: Fragment,
  order: Fragment,
  query: { page: number; page_size: number },
): Promise<Page<T>> {
  const offset = (query.page - 1) * query.page_size;
  const rows = await sql<Record<string, unknown>[]>`
    select ${columns}, count(*) over () as total_count
    from ${table} where ${where} ${order}
    limit ${query.page_size} offset ${offset}`;
  if (rows.length > 0) {
    const total = Number(rows[0]?.total_count);
    return { rows: rows.map(({ total_count: _, ...row }) => row as T), total };
  }
  const [count] = await sql<
    { total: string }[]
  >`select count(*) as total from ${table} where ${where}`;
  return { rows: [], total: Number(count?.total ?? 0) };
}

export function referenceDataRepository(sql: Sql) {
  const currencies = sql`platform_common.currencies`;
  const countries = sql`platform_common.countries`;
  const languages = sql`platform_common.languages`;

  return {
    listCurrencies(q: CurrencyListQuery): Promise<Page<Currency>> {
      const where: Fragment[] = [];
      if (q.status) where.push(sql`status = ${q.status}`);
      if (q.is_cryptocurrency !== undefined)
        where.push(sql`is_cryptocurrency = ${q.is_cryptocurrency}`);
      if (q.is_legal_tender !== undefined) where.push(sql`is_legal_tender = ${q.is_legal_tender}`);
      if (q.minor_unit !== undefined) where.push(sql`minor_unit = ${q.minor_unit}`);
      if (q.search) where.push(sql`(code ilike ${like(q.search)} or name ilike ${like(q.search)})`);
      return page(
        sql,
        currencies,
        currencyColumns(sql),
        and(sql, where),
        orderBy(sql, q.sort, "code"),
        q,
      );
    },

    async activeCurrencies(): Promise<Currency[]> {
      return sql<
        Currency[]
      >`select ${currencyColumns(sql)} from ${currencies} where status = 'active' order by code`;
    },

    async currency(code: string): Promise<Currency | undefined> {
      const [row] = await sql<
        Currency[]
      >`select ${currencyColumns(sql)} from ${currencies} where code = ${code}`;
      return row;
    },

    listCountries(q: CountryListQuery): Promise<Page<Country>> {
      const where: Fragment[] = [];
      if (q.status) where.push(sql`status = ${q.status}`);
      if (q.continent) where.push(sql`continent = ${q.continent}`);
      if (q.region) where.push(sql`lower(region) = lower(${q.region})`);
      if (q.gdpr_applicable !== undefined) where.push(sql`gdpr_applicable = ${q.gdpr_applicable}`);
      if (q.data_localization_required !== undefined) {
        where.push(sql`data_localization_required = ${q.data_localization_required}`);
      }
      if (q.default_currency_code)
        where.push(sql`default_currency_code = ${q.default_currency_code}`);
      if (q.search) {
        const term = like(q.search);
        where.push(sql`(code ilike ${term} or code3 ilike ${term} or name ilike ${term})`);
      }
      return page(
        sql,
        countries,
        countryColumns(sql),
        and(sql, where),
        orderBy(sql, q.sort, "code"),
        q,
      );
    },

    async countriesOnContinent(continent: string): Promise<Country[]> {
      return sql<Country[]>`
        select ${countryColumns(sql)} from ${countries}
        where status = 'active' and continent = ${continent} order by name, code`;
    },

    async gdprCountries(): Promise<Country[]> {
      return sql<Country[]>`
        select ${countryColumns(sql)} from ${countries}
        where status = 'active' and gdpr_applicable order by name, code`;
    },

    async country(code: string): Promise<Country | undefined> {
      const [row] = await sql<
        Country[]
      >`select ${countryColumns(sql)} from ${countries} where code = ${code}`;
      return row;
    },

    async countryByCode3(code3: string): Promise<Country | undefined> {
      const [row] = await sql<
        Country[]
      >`select ${countryColumns(sql)} from ${countries} where code3 = ${code3}`;
      return row;
    },

    listLanguages(q: LanguageListQuery): Promise<Page<Language>> {
      const where: Fragment[] = [];
      if (q.status) where.push(sql`status = ${q.status}`);
      if (q.writing_direction) where.push(sql`writing_direction = ${q.writing_direction}`);
      if (q.iso639_1) where.push(sql`iso639_1 = ${q.iso639_1}`);
      if (q.search) {
        const term = like(q.search);
        where.push(sql`(code ilike ${term} or name ilike ${term} or native_name ilike ${term})`);
      }
      return page(
        sql,
        languages,
        languageColumns(sql),
        and(sql, where),
        orderBy(sql, q.sort, "code"),
        q,
      );
    },

    async activeLanguages(): Promise<Language[]> {
      return sql<Language[]>`
        select ${languageColumns(sql)} from ${languages} where status = 'active' order by name, code`;
    },

    async language(code: string): Promise<Language | undefined> {
      const [row] = await sql<Language[]>`
        select ${languageColumns(sql)} from ${languages} where lower(code) = ${code}`;
      return row;
    },

    async languageByIso6391(code: string): Promise<Language | undefined> {
      const [row] = await sql<Language[]>`
        select ${languageColumns(sql)} from ${languages} where iso639_1 = ${code}`;
      return row;
    },
  };
}

export type ReferenceDataRepository = ReturnType<typeof referenceDataRepository>;
