import { describe, expect, it } from "vitest";
import { batchedSink } from "../../src/core/log/batched-sink";
import { createLogger } from "../../src/core/log/logger";

/** A sink whose end-of-turn writes run when the test says so. */
function harness(options: { maxChars?: number; write?: (chunk: string) => void } = {}) {
  const chunks: string[] = [];
  const pending: (() => void)[] = [];
  const out = batchedSink(options.write ?? ((chunk) => chunks.push(chunk)), {
    ...(options.maxChars === undefined ? {} : { maxChars: options.maxChars }),
    schedule: (flush) => pending.push(flush),
  });
  const endTurn = () => {
    for (const flush of pending.splice(0)) flush();
  };
  return { ...out, chunks, pending, endTurn };
}

describe("batched log sink", () => {
  it("writes the lines of one turn together, in order, at the end of the turn", () => {
    const h = harness();
    h.sink("a");
    h.sink("b");
    h.sink("c");
    expect(h.chunks).toEqual([]);
    expect(h.pending).toHaveLength(1);
    h.endTurn();
    expect(h.chunks).toEqual(["a\nb\nc"]);
    h.sink("d");
    h.endTurn();
    expect(h.chunks).toEqual(["a\nb\nc", "d"]);
  });

  it("writes a batch at once when it reaches maxChars", () => {
    const h = harness({ maxChars: 10 });
    h.sink("12345");
    h.sink("1234");
    expect(h.chunks).toEqual(["12345\n1234"]);
    h.sink("x");
    // The end-of-turn write scheduled by the first line is still the one pending.
    expect(h.pending).toHaveLength(1);
    h.endTurn();
    expect(h.chunks).toEqual(["12345\n1234", "x"]);
  });

  it("flush writes what is pending; an empty batch writes nothing", () => {
    const h = harness();
    h.flush();
    h.sink("last words");
    h.flush();
    h.endTurn();
    expect(h.chunks).toEqual(["last words"]);
  });

  it("a write that throws loses its batch, not the process or the next batch", () => {
    let fail = true;
    const chunks: string[] = [];
    const h = harness({
      write: (chunk) => {
        if (fail) throw new Error("EPIPE");
        chunks.push(chunk);
      },
    });
    h.sink("lost");
    expect(() => h.endTurn()).not.toThrow();
    fail = false;
    h.sink("kept");
    h.endTurn();
    expect(chunks).toEqual(["kept"]);
  });

  it("by default writes at the end of the event loop's turn", async () => {
    const chunks: string[] = [];
    const { sink } = batchedSink((chunk) => chunks.push(chunk));
    const logger = createLogger({ level: "info", sink });
    logger.info("one");
    logger.info("two");
    expect(chunks).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.split("\n").map((line) => JSON.parse(line).msg)).toEqual(["one", "two"]);
  });
});
