import type { Context } from "hono";
import type { Sql } from "postgres";
import { type AuditContext, auditContextOf } from "../audit/audit-log";
import type { Cache } from "../cache/port";
import type { AppEnv } from "../deps";
import type { Logger } from "../log/logger";

/** What a feature's service verbs need from a request: the database, the cache, the log. */
export interface ServiceContext {
  db: Sql;
  cache: Cache;
  log: Logger;
}

/** Writes also carry who made them and why, for the audit entry. */
export interface WriteContext extends ServiceContext {
  audit: AuditContext;
}

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  const { db, cache } = c.get("deps");
  return { db, cache, log: c.get("log") };
}

export function writeContext(c: Context<AppEnv>): WriteContext {
  return { ...serviceContext(c), audit: auditContextOf(c) };
}
