import type { LogSink } from "./logger";

export interface BatchedSink {
  /** The logger's sink: the line joins the current batch. */
  sink: LogSink;
  /** Writes the pending batch now (before the process exits). */
  flush(): void;
}

/**
 * A sink that writes the lines logged during one turn of the event loop together, at the end
 * of that turn. Under load a server finishes many requests per turn, and one write for all of
 * their log lines costs a fraction of one write (a system call) per line: the request log at
 * `info` is most of what logging costs a warm read (bench/RESULTS.md, "Logging cost").
 *
 * Lines keep their order and are never held past the current turn, so a line reaches its
 * reader as soon as the turn that logged it is over. A batch that reaches `maxChars` is written
 * at once, so a burst never grows it without bound. Whoever owns the process flushes before it
 * exits (`process.exit` skips the scheduled write).
 */
export function batchedSink(
  /** Writes the batch's lines, joined by newlines, and a final newline: as console.log does. */
  write: (lines: string) => void,
  options: {
    maxChars?: number;
    /** When the batch is written: the end of this turn of the event loop by default. */
    schedule?: (flush: () => void) => void;
  } = {},
): BatchedSink {
  // Characters (UTF-16 units), not bytes: near enough for a bound on a log batch.
  const maxChars = options.maxChars ?? 64 * 1024;
  const schedule = options.schedule ?? ((flush) => void setImmediate(flush));
  let lines: string[] = [];
  let chars = 0;
  let scheduled = false;

  const flush = () => {
    if (lines.length === 0) return;
    // The batch is reset first, so the next one starts clean.
    const chunk = lines.join("\n");
    lines = [];
    chars = 0;
    try {
      write(chunk);
    } catch {
      // The log itself is unwritable (a closed stdout): there is nowhere to say so, and a
      // request must not fail, nor the process crash, over its log line.
    }
  };

  // One end-of-turn write is pending at a time; a batch written early for its size leaves it
  // pending, for the lines that follow in the same turn.
  const endOfTurn = () => {
    scheduled = false;
    flush();
  };

  const sink: LogSink = (line) => {
    lines.push(line);
    chars += line.length + 1;
    if (chars >= maxChars) flush();
    else if (!scheduled) {
      scheduled = true;
      schedule(endOfTurn);
    }
  };
  return { sink, flush };
}
