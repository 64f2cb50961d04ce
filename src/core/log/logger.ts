import { redact } from "./redact";

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

export function createLogger(
  options: { level: LogLevel; sink?: LogSink; base?: LogFields } = { level: "info" },
): Logger {
  const sink = options.sink ?? ((line: string) => console.log(line));
  const threshold = order[options.level];
  const base = options.base ?? {};
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    if (order[level] < threshold) return;
    const entry = { time: new Date().toISOString(), level, msg: message, ...base, ...fields };
    sink(JSON.stringify(redact(entry)));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ level: options.level, sink, base: { ...base, ...fields } }),
    enabled: (level) => order[level] >= threshold,
  };
}
