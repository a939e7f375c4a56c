// Answer quality of gust-mini beyond its trained length: the training task "recall" (a secret code said once, then
// filler, then the question) at growing distances, greedy, on the CPU. Also replays the held conversations
// (held.json, transformers' greedy answers under the shipped config) to show short prompts are unchanged.
//   bun bench/lab/long-recall.ts [--model DIR] [--distances 200,700,2000] [--trials 6] [--held]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runOnce } from "../../runtime/engine/run-once.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { encodeChat, loadTokenizer } from "../../runtime/text/index.ts";
import { decodeImageSource } from "../../runtime/text/chat/image-size.ts";
import { openVision } from "../../runtime/vision/open-vision.ts";
import { decodePng } from "../../runtime/vision/png.ts";
import type { ImageFeatures } from "../../runtime/model/image-prefill.ts";
import { backend } from "../../test/helpers/engine.ts";
import { repoRoot } from "../../test/helpers/fixtures.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: join(repoRoot, "models", "gust-mini") },
    distances: { type: "string", default: "200,700,2000,4000" },
    trials: { type: "string", default: "6" },
    held: { type: "boolean", default: false },
  },
});
const dir = values.model!;
const WORDS = "apple river stone cloud piano tiger lemon forest candle rocket silver garden window marble falcon".split(
  " ",
);
const FILLER = [
  "The weather was calm that day.",
  "Nothing else happened in the morning.",
  "The train left the station on time.",
  "A cat slept near the window.",
  "Some people were reading books.",
  "The market opened at nine.",
  "It started to rain a little.",
  "Music played in the distance.",
];

// a fixed linear congruential sequence, so every run asks the same questions
let state = 12345;
const next = (n: number) => {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state % n;
};

const tok = await loadTokenizer(dir);
const loaded = loadModel(dir, backend);
const model = loaded.model;
const thinkIds = { think: tok.controlId("[THINK]"), endThink: tok.controlId("[/THINK]") };
console.log(`model ${dir}: context ${model.maxPositions}, rope ${JSON.stringify(loaded.config.text.rope)}`);

const vision = openVision(loaded.config, backend);

function greedy(promptIds: number[], maxTokens: number, images?: ImageFeatures): number[] {
  const [s] = runOnce(backend, model, thinkIds, { promptIds, maxTokens, sampling: { temperature: 0 }, images });
  return s.tokens.map((t) => t.token);
}

if (values.held) {
  const held = JSON.parse(readFileSync(join(dir, "held.json"), "utf8")).entries as Array<
    { name: string; prompt_ids: number[]; greedy_ids: number[] | null; request: { messages: { content: unknown }[] } }
  >;
  let same = 0, total = 0;
  for (const e of held) {
    if (e.greedy_ids === null) continue;
    const urls = e.request.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []))
      .filter((c) => c.type === "image_url").map((c) => c.image_url.url as string);
    let images: ImageFeatures | undefined;
    if (urls.length > 0 && vision) {
      const out = vision.model.encode(urls.map((u) => decodePng(decodeImageSource(u)!)));
      images = { values: out.features, hidden: out.hidden, imageTokenId: vision.config.imageTokenId };
    }
    const got = greedy(e.prompt_ids, e.greedy_ids.length, images);
    total++;
    if (got.join() === e.greedy_ids.join()) same++;
    else console.log(`held ${e.name}: differs: ${JSON.stringify(tok.decode(got, "show"))}`);
  }
  console.log(`held conversations answered as transformers did: ${same}/${total}`);
}

const trials = Number(values.trials);
for (const distance of values.distances!.split(",").map(Number)) {
  let right = 0, promptTokens = 0;
  const started = performance.now();
  for (let t = 0; t < trials; t++) {
    const code = `${WORDS[next(WORDS.length)]}-${10 + next(90)}`;
    const filler: string[] = [];
    // ~7.5 tokens per filler sentence; the code sits at a random point in the first tenth of the text
    const sentences = Math.max(1, Math.round(distance / 7.5));
    const at = next(Math.max(1, Math.floor(sentences / 10)));
    for (let i = 0; i < sentences; i++) {
      if (i === at) filler.push(`The secret code is ${code}.`);
      filler.push(FILLER[next(FILLER.length)]);
    }
    const content = `${filler.join(" ")} What is the secret code?`;
    const ids = encodeChat(tok, { messages: [{ role: "user", content }] }).ids;
    promptTokens += ids.length;
    const answer = tok.decode(greedy(ids, 16), "drop");
    if (answer.includes(code)) right++;
    else if (t === 0) console.log(`  distance ${distance}: wanted ${code}, got ${JSON.stringify(answer)}`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `recall at ~${distance} tokens (mean prompt ${Math.round(promptTokens / trials)}): ${right}/${trials} right ` +
      `(${seconds.toFixed(1)} s)`,
  );
}
vision?.dispose();
loaded.dispose();
