// Grammar compilation runs off the runtime's step loop: while a request's grammar (a large valid schema, one refused
// as too complex, a tool set with large parameter schemas) is built, a running stream keeps getting tokens. Read at
// the wire, frame by frame: the test sends the constrained request and a stats request in one write, right behind
// each other. A runtime that compiles on its own thread answers the constrained request (its refusal, or its first
// tokens) before it even reads the stats request, so no token of the running stream can come between the stats
// answer and it; off the thread, the stats answer comes at once and the stream's tokens follow while the worker
// compiles.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder } from "../../runtime/wire/frames.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { type Started, startGust, tempSocket } from "../helpers/processes.ts";
import { exponentialRef } from "./pathological-schemas.ts";

const MODEL = "tiny-mistral3";
const socketPath = tempSocket("grammar-off-loop");
let runtime: Started;

beforeAll(async () => {
  runtime = await startGust(
    ["runtime", "--model", fixtureDir(MODEL), "--socket", socketPath, "--num-blocks", "64"],
    /serving/,
  );
}, 90_000);
afterAll(async () => {
  await runtime?.stop();
});

type Message = { type: string; id?: string | null; deltas?: { id: string; finish: string | null }[]; message?: string };

/** A raw wire connection that keeps every frame it receives, in order. */
class WireLog {
  readonly frames: Message[] = [];
  readonly #decoder = new FrameDecoder();
  #waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Uint8Array) => {
      for (const f of this.#decoder.push(new Uint8Array(chunk))) this.frames.push(f.message as Message);
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  static open(): Promise<WireLog> {
    return new Promise((resolve, reject) => {
      const s = connect(socketPath, () => resolve(new WireLog(s)));
      s.once("error", reject);
    });
  }
  send(...messages: unknown[]): void {
    this.socket.write(Buffer.concat(messages.map((m) => encodeFrame(m))));
  }
  /** Waits until some frame at or after `from` satisfies `pred`; its index. */
  async until(pred: (m: Message) => boolean, from = 0): Promise<number> {
    for (;;) {
      const i = this.frames.findIndex((m, k) => k >= from && pred(m));
      if (i >= 0) return i;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }
}

const mentions = (m: Message, id: string) => m.id === id || (m.deltas ?? []).some((d) => d.id === id);
const bigEnum = (salt: string, n: number) => ({
  enum: Array.from({ length: n }, (_, i) => `${salt}-${i}-abcdefghijkl`),
});

const cases: Array<[string, Record<string, unknown>, "refused" | "answered"]> = [
  ["a schema refused as too complex", {
    responseFormat: { type: "json_schema", schema: exponentialRef(24, "off-loop") },
  }, "refused"],
  ["a large valid schema", { responseFormat: { type: "json_schema", schema: bigEnum("valid", 4000) } }, "answered"],
  ["a tool set with large parameter schemas", {
    toolCalls: {
      tools: Array.from({ length: 4 }, (_, t) => ({
        name: `tool_${t}`,
        parameters: { type: "object", properties: { pick: bigEnum(`tool${t}`, 4000) }, required: ["pick"] },
      })),
      parallel: false,
    },
  }, "answered"],
];

describe("grammar compilation off the runtime's step loop", () => {
  it.each(cases)("a running stream keeps producing tokens while %s compiles", async (_name, constraint, outcome) => {
    const wire = await WireLog.open();
    try {
      await wire.until((m) => m.type === "hello");
      const promptIds = Array.from({ length: 8 }, (_, i) => 40 + i * 7);
      const sampling = { temperature: 0 };
      wire.send({ type: "generate", id: "a", promptIds, maxTokens: 200, ignoreEos: true, sampling });
      const first = await wire.until((m) => mentions(m, "a"));

      wire.send(
        { type: "generate", id: "b", promptIds, maxTokens: 4, sampling, ...constraint },
        { type: "stats", id: "s" },
      );
      const stats = await wire.until((m) => m.type === "stats" && m.id === "s", first + 1);
      const answer = await wire.until((m) => mentions(m, "b"), first + 1);
      const b = wire.frames[answer];
      if (outcome === "refused") {
        expect(b.type).toBe("error");
        expect(b.message).toContain("schema too complex");
      } else expect(b.type, JSON.stringify(b)).toBe("deltas");

      // the stats answer came before the constrained request's, and the stream's tokens in between
      expect(stats).toBeLessThan(answer);
      const between = wire.frames.slice(stats + 1, answer).filter((m) => mentions(m, "a"));
      expect(between.length).toBeGreaterThan(0);

      wire.send({ type: "abort", id: "a" }, { type: "abort", id: "b" });
      await wire.until((m) => (m.deltas ?? []).some((d) => d.id === "a" && d.finish !== null));
    } finally {
      wire.socket.destroy();
    }
  });
});
