// How long a running stream pauses while the runtime compiles another request's grammar: per round, a stream runs,
// a constrained request with a schema never seen before is sent (one refused as too complex, or a large valid one),
// and the pause is the stream's longest wait between two frames from the send until the constrained request was
// answered, beside the stream's usual gap between frames.
// Median and spread printed, never asserted. Run against any checkout's runtime to compare (e.g. before and after
// grammar compilation moved to a worker):
//   npx bun bench/lab/grammar-stall.ts [repoRoot=.] [rounds=10]
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { encodeFrame, FrameDecoder } from "../../runtime/wire/frames.ts";
import { exponentialRef } from "../../test/tenants/pathological-schemas.ts";

const root = resolve(process.argv[2] ?? ".");
const rounds = Number(process.argv[3] ?? 10);
const socketPath = join("/tmp", `gust-grammar-stall-${process.pid}.sock`);
const model = resolve("test/fixtures/tiny-mistral3");
const proc = spawn(join(root, "node_modules/.bin/bun"), [
  join(root, "runtime/cli/main.ts"),
  "runtime",
  "--model",
  process.env.GUST_MODEL ?? model,
  "--socket",
  socketPath,
  "--num-blocks",
  "64",
], { stdio: ["ignore", "pipe", "pipe"] });
await new Promise<void>((ok) => proc.stderr.on("data", (d: Buffer) => /serving/.test(String(d)) && ok()));

type Message = { type: string; id?: string | null; deltas?: { id: string }[] };
const frames: { at: number; m: Message }[] = [];
let wake: (() => void) | null = null;
const decoder = new FrameDecoder();
const socket = connect(socketPath);
socket.on("data", (chunk: Uint8Array) => {
  const at = performance.now();
  for (const f of decoder.push(new Uint8Array(chunk))) frames.push({ at, m: f.message as Message });
  wake?.();
});
const send = (m: unknown) => socket.write(encodeFrame(m));
const mentions = (m: Message, id: string) => m.id === id || (m.deltas ?? []).some((d) => d.id === id);
async function until(pred: (m: Message) => boolean, from: number): Promise<number> {
  for (;;) {
    const i = frames.findIndex((f, k) => k >= from && pred(f.m));
    if (i >= 0) return i;
    await new Promise<void>((r) => (wake = r));
  }
}

await until((m) => m.type === "hello", 0);
const promptIds = Array.from({ length: 8 }, (_, i) => 40 + i * 7);
const pauses: Record<string, number[]> = { "refused (exponential $ref)": [], "valid (4000-string enum)": [] };
const gaps: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (const kind of Object.keys(pauses)) {
    const a = `a${r}${kind[0]}`, b = `b${r}${kind[0]}`;
    send({ type: "generate", id: a, promptIds, maxTokens: 200, ignoreEos: true, sampling: { temperature: 0 } });
    let last = await until((m) => mentions(m, a), frames.length);
    for (let k = 0; k < 5; k++) {
      const next = await until((m) => mentions(m, a), last + 1);
      gaps.push(frames[next].at - frames[last].at);
      last = next;
    }
    const schema = kind.startsWith("refused")
      ? exponentialRef(24, `r${r}`)
      : { enum: Array.from({ length: 4000 }, (_, i) => `v${r}-${i}-abcdefghijkl`) };
    const from = frames.length;
    send({ type: "generate", id: b, promptIds, maxTokens: 4, responseFormat: { type: "json_schema", schema } });
    const answered = await until((m) => mentions(m, b), from);
    const finished = frames.slice(from, answered + 1).some((f) =>
      (f.m.deltas ?? []).some((d) => d.id === a && (d as { finish?: string | null }).finish)
    );
    const after = finished ? answered : await until((m) => mentions(m, a) && !mentions(m, b), answered + 1);
    // the longest wait between two of the stream's frames, from its last one before the send to its first after the
    // constrained request's answer: a compile on the runtime's thread is one such wait
    const times = frames.slice(last, after + 1).filter((f) => mentions(f.m, a)).map((f) => f.at);
    pauses[kind].push(Math.max(...times.slice(1).map((t, i) => t - times[i])));
    send({ type: "abort", id: a });
    send({ type: "abort", id: b });
    await new Promise((r) => setTimeout(r, 50));
  }
}
const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) * p)];
const row = (xs: number[]) =>
  `median ${pct(xs, 0.5).toFixed(1)} ms (min ${pct(xs, 0).toFixed(1)}, max ${pct(xs, 1).toFixed(1)})`;
console.log(`runtime from ${root}, ${rounds} rounds`);
console.log(`stream's gap between frames: ${row(gaps)}`);
for (const [kind, xs] of Object.entries(pauses)) console.log(`pause while a ${kind} schema compiles: ${row(xs)}`);
socket.destroy();
proc.kill("SIGTERM");
