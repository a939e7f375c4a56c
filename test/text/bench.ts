// Benchmark (not a test; timings never gate CI): tokens/s for Tekken encoding and for incremental decoding.
//   npx bun test/text/bench.ts            (Bun)
//   npx deno run --allow-read test/text/bench.ts   (Deno)
import { Detokenizer, encodeChat, HfTokenizer, OutputStreamParser, Tekkenizer } from "../../runtime/text/index.ts";
import { readTextFile } from "../../runtime/text/io.ts";

const tok = Tekkenizer.fromJSON(JSON.parse((await readTextFile("test/fixtures/tiny-mistral3/tekken.json"))!));
const hf = new HfTokenizer(JSON.parse((await readTextFile("test/text/vectors/tiny-tokenizer.json"))!), {});

// ~1 MB of mixed text: English prose, code, JSON, numbers, accents, CJK, emoji
const para = [
  "The quick brown fox jumps over the lazy dog. Mistral Medium 3.5 is a dense 128B model with a Tekken tokenizer.\n",
  'def f(x):\n    return {"value": x ** 2, "ok": True}  # comment\n',
  '{"name": "get_weather", "arguments": {"city": "Paris", "days": 3, "units": "metric"}}\n',
  "Numbers 1234567890 and 3.14159, dates 2026-04-29, naïve café résumé, 日本語のテキスト, emoji 😀🎉.\n",
  "    indented    text\twith\ttabs   and   spaces\n\n",
].join("");
let text = "";
while (text.length < 1_000_000) text += para;
const bytes = new TextEncoder().encode(text).length;

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, (performance.now() - t) / 1000];
}

tok.encode(text.slice(0, 50_000)); // warm-up
const [ids, tEnc] = time(() => tok.encode(text));
const fresh = Tekkenizer.fromJSON(JSON.parse((await readTextFile("test/fixtures/tiny-mistral3/tekken.json"))!));
const [, tEncNoCache] = time(() => fresh.encode(text));
const [, tDec] = time(() => {
  const d = new Detokenizer(tok);
  let n = 0;
  for (let i = 0; i < ids.length; i++) n += d.push([ids[i]]).length;
  return n + d.finish().length;
});
const [, tParse] = time(() => {
  const p = new OutputStreamParser(tok);
  for (let i = 0; i < ids.length; i++) p.push([ids[i]]);
  p.finish();
});
// non-repetitive text: random words from mixed scripts, so the piece cache rarely hits
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const alphabet =
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèàüößçñ日本語中文한국어😀0123456789.,;:!?()[]{}\"'-_/";
const chars = [...alphabet];
let rtext = "";
while (rtext.length < 1_000_000) {
  const n = 1 + Math.floor(rand() * 10);
  for (let i = 0; i < n; i++) rtext += chars[Math.floor(rand() * chars.length)];
  rtext += rand() < 0.1 ? "\n" : " ";
}
const rfresh = Tekkenizer.fromJSON(JSON.parse((await readTextFile("test/fixtures/tiny-mistral3/tekken.json"))!));
const [rids, tRand] = time(() => rfresh.encode(rtext));
const [, tHf] = time(() => hf.encode(text.slice(0, 200_000)));
const msgs = Array.from(
  { length: 200 },
  (_, i) => ({ role: i % 2 ? "assistant" as const : "user" as const, content: para }),
);
msgs.push({ role: "user", content: "end" });
const [, tChat] = time(() => encodeChat(tok, { messages: msgs }));

const f = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(
  `text: ${(bytes / 1e6).toFixed(2)} MB, ${f(ids.length)} tokens (fixture vocabulary: ${tok.vocabSize} ids, so ~${
    (bytes / ids.length).toFixed(2)
  } bytes/token)`,
);
console.log(
  `tekken encode (repetitive text): ${tEnc.toFixed(3)} s  ${f(ids.length / tEnc)} tokens/s  ${
    (bytes / 1e6 / tEnc).toFixed(1)
  } MB/s`,
);
console.log(`tekken encode (fresh tokenizer): ${tEncNoCache.toFixed(3)} s  ${f(ids.length / tEncNoCache)} tokens/s`);
console.log(
  `tekken encode, random words (${(new TextEncoder().encode(rtext).length / 1e6).toFixed(2)} MB): ${
    tRand.toFixed(3)
  } s  ${f(rids.length / tRand)} tokens/s`,
);
console.log(`incremental decode, 1 token/push: ${tDec.toFixed(3)} s  ${f(ids.length / tDec)} tokens/s`);
console.log(`stream parser, 1 token/push:      ${tParse.toFixed(3)} s  ${f(ids.length / tParse)} tokens/s`);
console.log(`tokenizer.json encode (0.2 MB):   ${tHf.toFixed(3)} s  ${(0.2 / tHf).toFixed(2)} MB/s`);
console.log(
  `chat encode, 201 messages (${(msgs.length * para.length / 1e3).toFixed(0)} kB): ${(tChat * 1000).toFixed(1)} ms`,
);
