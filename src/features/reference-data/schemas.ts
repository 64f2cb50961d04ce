import { z } from "@hono/zod-openapi";
import { PaginationQuery } from "../../core/http/pagination";
import { queryBoolean } from "../../core/http/query";

export const referenceStatuses = ["active", "inactive", "historical"] as const;
export const continents = [
  "Africa",
  "Antarctica",
  "Asia",
  "Europe",
  "North America",
  "Oceania",
  "South America",
] as const;
export type Continent = (typeof continents)[number];

const ReferenceStatus = z.enum(referenceStatuses).openapi("ReferenceStatus");
const timestamp = z.string().openapi({ format: "date-time" });

export const CurrencySchema = z
  .object({
    code: z.string().openapi({ example: "EUR", description: "ISO 4217 alphabetic code." }),
    numeric_code: z
      .string()
      .nullable()
      .openapi({ example: "978", description: "ISO 4217 numeric code, three digits." }),
    minor_unit: z.number().int().nullable().openapi({
      example: 2,
      description: "Decimal places of the minor unit; null where ISO 4217 gives none (N.A.).",
    }),
    name: z.string().openapi({ example: "Euro" }),
    symbol: z
      .string()
      .nullable()
      .openapi({ example: "€", description: "The usual symbol, where one exists." }),
    status: ReferenceStatus,
    is_cryptocurrency: z.boolean(),
    is_legal_tender: z.boolean().openapi({
      description: "False for funds, precious metals, special units and withdrawn codes.",
    }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi("Currency");

export const CountrySchema = z
  .object({
    code: z.string().openapi({ example: "DE", description: "ISO 3166-1 alpha-2 code." }),
    code3: z.string().openapi({ example: "DEU", description: "ISO 3166-1 alpha-3 code." }),
    numeric_code: z
      .string()
      .openapi({ example: "276", description: "ISO 3166-1 numeric code, three digits." }),
    name: z.string().openapi({ example: "Germany" }),
    official_name: z.string().nullable().openapi({ example: "Federal Republic of Germany" }),
    region: z.string().openapi({ example: "Western Europe", description: "UN M49 sub-region." }),
    continent: z.string().openapi({ example: "Europe" }),
    status: ReferenceStatus,
    calling_code: z
      .string()
      .nullable()
      .openapi({ example: "+49", description: "International dialling prefix (ITU-T E.164)." }),
    default_currency_code: z.string().nullable().openapi({
      example: "EUR",
      description: "ISO 4217 code of the currency in general use; null where there is none.",
    }),
    gdpr_applicable: z.boolean().openapi({
      description: "The GDPR applies: EU and EEA members, and the EU's outermost regions.",
    }),
    data_localization_required: z.boolean().openapi({
      description: "Operator policy: personal data must stay in the country (false until set).",
    }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi("Country");

export const LanguageSchema = z
  .object({
    code: z.string().openapi({
      example: "de",
      description: "The language's code: ISO 639-1 where it has one, else ISO 639-2/3.",
    }),
    iso639_1: z.string().nullable().openapi({ example: "de" }),
    iso639_2: z
      .string()
      .nullable()
      .openapi({ example: "deu", description: "ISO 639-2 terminology code." }),
    name: z.string().openapi({ example: "German", description: "English name." }),
    native_name: z
      .string()
      .openapi({ example: "Deutsch", description: "The name in the language itself." }),
    status: ReferenceStatus,
    writing_direction: z
      .enum(["ltr", "rtl", "ttb"])
      .openapi({ description: "Of the language's usual script." }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .openapi("Language");

export type Currency = z.infer<typeof CurrencySchema>;
export type Country = z.infer<typeof CountrySchema>;
export type Language = z.infer<typeof LanguageSchema>;

const search = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .optional()
  .openapi({ param: { name: "search", in: "query" }, description: "Case-insensitive substring." });

const status = ReferenceStatus.optional().openapi({
  param: { name: "status", in: "query" },
  description: "Only entries with this status (withdrawn codes are `historical`).",
});

function sortParam<const T extends readonly [string, ...string[]]>(fields: T, fallback: T[number]) {
  const values = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return z
    .enum(values)
    .default(fallback)
    .openapi({
      param: { name: "sort", in: "query" },
      description: `Sort field; prefix with \`-\` for descending. One of: ${fields.join(", ")}.`,
    });
}

export const CurrencyListQuery = PaginationQuery.extend({
  status,
  is_cryptocurrency: queryBoolean(
    "is_cryptocurrency",
    "`true`: only cryptocurrencies; `false`: none (ISO 4217 lists none).",
  ),
  is_legal_tender: queryBoolean(
    "is_legal_tender",
    "`false`: only funds, precious metals, special units and withdrawn codes; `true`: the rest.",
  ),
  minor_unit: z.coerce
    .number()
    .int()
    .min(0)
    .max(6)
    .optional()
    .openapi({
      param: { name: "minor_unit", in: "query" },
      description: "Only currencies with this many decimal places (0–6; `0` for JPY).",
    }),
  search,
  sort: sortParam(["code", "name", "numeric_code"], "code"),
});

export const CountryListQuery = PaginationQuery.extend({
  status,
  continent: z
    .enum(continents)
    .optional()
    .openapi({ param: { name: "continent", in: "query" }, description: "Only countries on it." }),
  region: z
    .string()
    .trim()
    .min(1)
    .max(50)
    .optional()
    .openapi({
      param: { name: "region", in: "query" },
      description: "Only countries in this UN M49 sub-region, case-insensitive (`Western Europe`).",
    }),
  gdpr_applicable: queryBoolean(
    "gdpr_applicable",
    "`true`: only countries where the GDPR applies (EU and EEA, outermost regions included).",
  ),
  data_localization_required: queryBoolean(
    "data_localization_required",
    "`true`: only countries the operator marked as keeping personal data in the country (a policy setting, `false` until set).",
  ),
  default_currency_code: z
    .string()
    .regex(/^[A-Za-z]{3}$/, "expected a 3-letter ISO 4217 code")
    .transform((v) => v.toUpperCase())
    .optional()
    .openapi({
      param: { name: "default_currency_code", in: "query" },
      description: "Only countries whose default currency is this ISO 4217 code (any case).",
    }),
  search,
  sort: sortParam(["name", "code", "code3", "numeric_code"], "name"),
});

export const LanguageListQuery = PaginationQuery.extend({
  status,
  writing_direction: z
    .enum(["ltr", "rtl", "ttb"])
    .optional()
    .openapi({
      param: { name: "writing_direction", in: "query" },
      description: "Left to right, right to left or top to bottom.",
    }),
  iso639_1: z
    .string()
    .regex(/^[A-Za-z]{2}$/, "expected a 2-letter ISO 639-1 code")
    .transform((v) => v.toLowerCase())
    .optional()
    .openapi({
      param: { name: "iso639_1", in: "query" },
      description: "Only the language with this ISO 639-1 code (any case).",
    }),
  search,
  sort: sortParam(["name", "code", "native_name"], "name"),
});

export type CurrencyListQuery = z.infer<typeof CurrencyListQuery>;
export type CountryListQuery = z.infer<typeof CountryListQuery>;
export type LanguageListQuery = z.infer<typeof LanguageListQuery>;

/** A code in the path: validated (400 when malformed), matched in any case. */
function codeField(
  name: string,
  pattern: RegExp,
  message: string,
  example: string,
  upper: boolean,
) {
  return z
    .string()
    .regex(pattern, message)
    .transform((v) => (upper ? v.toUpperCase() : v.toLowerCase()))
    .openapi({
      param: { name, in: "path" },
      example,
      description: `${message.replace(/^expected /, "The ")}, in any case.`,
    });
}

export const CurrencyCodeParam = z.object({
  code: codeField("code", /^[A-Za-z]{3}$/, "expected a 3-letter ISO 4217 code", "EUR", true),
});
export const CountryCodeParam = z.object({
  code: codeField("code", /^[A-Za-z]{2}$/, "expected a 2-letter ISO 3166-1 code", "DE", true),
});
export const CountryCode3Param = z.object({
  code3: codeField(
    "code3",
    /^[A-Za-z]{3}$/,
    "expected a 3-letter ISO 3166-1 alpha-3 code",
    "DEU",
    true,
  ),
});
export const LanguageCodeParam = z.object({
  code: codeField(
    "code",
    /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,6})?$/,
    "expected a language code of at most 10 characters (ISO 639, optionally with a subtag)",
    "de",
    false,
  ),
});
export const Iso6391Param = z.object({
  iso639_1: codeField(
    "iso639_1",
    /^[A-Za-z]{2}$/,
    "expected a 2-letter ISO 639-1 code",
    "de",
    false,
  ),
});

/** Continents in paths are matched case-insensitively, with `-` or `_` for spaces. */
export const ContinentParam = z.object({
  continent: z
    .string()
    .transform((v) => v.replace(/[-_]+/g, " ").trim().toLowerCase())
    .pipe(
      z
        .enum(continents.map((c) => c.toLowerCase()) as [string, ...string[]], {
          error: `expected one of ${continents.join(", ")}`,
        })
        .transform((v) => continents.find((c) => c.toLowerCase() === v) as Continent),
    )
    .openapi({
      param: { name: "continent", in: "path" },
      example: "europe",
      type: "string",
      description: `One of ${continents.join(", ")}; any case, with \`-\` or \`_\` for spaces.`,
    }),
});
