import { isoNow } from "../time/iso-now";
import { redactField, redactText } from "./redact";

export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

/** Structured JSON logger: one line per event, secrets redacted before serialisation. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /** Whether a line at this level would be written (to skip building it). */
  enabled(level: LogLevel): boolean;
}

const EMPTY: LogFields = Object.freeze({});

/**
 * Methods on the prototype, not closures per instance: the request middleware makes a child per
 * request, which then costs one small object. A child's fields are merged with its parent's only
 * when it first writes a line (most requests at `warn` never do).
 */
class JsonLogger implements Logger {
  private merged: LogFields | undefined;

  constructor(
    private readonly threshold: number,
    private readonly sink: LogSink,
    private readonly parentBase: LogFields,
    private readonly own: LogFields | undefined,
  ) {}

  private base(): LogFields {
    this.merged ??= this.own ? { ...this.parentBase, ...this.own } : this.parentBase;
    return this.merged;
  }

  private write(level: LogLevel, message: string, fields?: LogFields): void {
    if (order[level] < this.threshold) return;
    // The redacted line built in one pass (what `redact({ time, level, msg, ...base, ...fields })`
    // gives, same keys in the same order, without the intermediate copy): one per request.
    const entry: LogFields = { time: isoNow(), level, msg: redactText(message) };
    const base = this.base();
    for (const key of Object.keys(base)) entry[key] = redactField(key, base[key]);
    if (fields) for (const key of Object.keys(fields)) entry[key] = redactField(key, fields[key]);
    this.sink(JSON.stringify(entry));
  }

  debug(message: string, fields?: LogFields): void {
    this.write("debug", message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write("info", message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write("warn", message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write("error", message, fields);
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.threshold, this.sink, this.base(), fields);
  }

  enabled(level: LogLevel): boolean {
    return order[level] >= this.threshold;
  }
}

export function createLogger(
  options: { level: LogLevel; sink?: LogSink; base?: LogFields } = { level: "info" },
): Logger {
  const sink = options.sink ?? ((line: string) => console.log(line));
  return new JsonLogger(order[options.level], sink, EMPTY, options.base);
}
