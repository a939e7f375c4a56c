// Ordinary input that used to 500, on both gateways with the default model (gust-mini: 4,096 model ids, fewer
// tokenizer ids): a 30 MB message gets the context 400 (refused before it is tokenized), and logit_bias on every id
// of the model's vocabulary gets a 200 or a 400 naming the id, never a 5xx.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer } from "../../runtime/text/index.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { freePort, startDenoGateway, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL_DIR = join(repoRoot, "models", "gust-mini");
const modelVocab = (JSON.parse(readFileSync(join(MODEL_DIR, "config.json"), "utf8")) as {
  text_config: { vocab_size: number };
}).text_config.vocab_size;

describe.each(["bun", "deno"] as const)("input bugs on %s", (kind) => {
  const socket = tempSocket(`input-${kind}`);
  let port = 0, base = "";
  let runtime: Started, gateway: Started, tokenizerVocab: number;
  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    tokenizerVocab = (await loadTokenizer(MODEL_DIR)).vocabSize;
    runtime = await startGust(["runtime", "--model", MODEL_DIR, "--socket", socket, "--num-blocks", "64"], /serving/);
    const args = ["--runtime", socket, "--port", String(port)];
    gateway = kind === "bun" ? await startGust(["serve", ...args], /gateway on/) : await startDenoGateway(args);
  }, 90_000);
  afterAll(async () => {
    await gateway?.stop();
    await runtime?.stop();
  });

  const chat = (extra: Record<string, unknown>, content = "hi") =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gust-mini", max_tokens: 2, messages: [{ role: "user", content }], ...extra }),
    });

  it("a 30 MB message gets the context-length 400", async () => {
    const res = await chat({}, "hello world, ".repeat(30_000_000 / 13));
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error.code).toBe("context_length_exceeded");
    expect(body.error.message).toMatch(/the prompt is at least \d+ tokens and the model's context holds \d+/);
  });

  it(
    "logit_bias on every id of the model's vocabulary: a 200, or a 400 naming an id past the tokenizer's",
    async () => {
      expect(tokenizerVocab).toBeLessThan(modelVocab); // the case worth testing: padding ids exist
      for (let first = 0; first < modelVocab; first += 128) {
        const ids = Array.from({ length: 128 }, (_, k) => first + k).filter((id) => id < modelVocab);
        const res = await chat({ logit_bias: Object.fromEntries(ids.map((id) => [String(id), 100])), temperature: 1 });
        const body = await res.json();
        const outside = ids.find((id) => id >= tokenizerVocab);
        if (outside === undefined) expect(res.status, JSON.stringify(body)).toBe(200);
        else {
          expect(res.status, JSON.stringify(body)).toBe(400);
          expect(body.error.message).toContain(`token id ${outside} is not in the tokenizer's vocabulary`);
        }
      }
    },
    120_000,
  );
  it("temperature 0 to 5 never gives a 5xx", async () => {
    for (const temperature of [0, 0.5, 1, 2, 3, 5]) {
      for (let seed = 0; seed < 10; seed++) {
        const res = await chat({ temperature, seed, max_tokens: 8 });
        expect(res.status, `temperature ${temperature}, seed ${seed}: ${await res.clone().text()}`).toBe(200);
      }
    }
  }, 120_000);
});
