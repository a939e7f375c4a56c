// gust-mini is trained on the layout tools/gust-mini/mini_template.py renders; gust serves it with encodeChat.
// They must agree token for token: every case of template-cases.json (written by
// tools/gust-mini/dump_template_cases.py: training conversations as OpenAI-style requests, plus the template's
// text and ids) is encoded here with gust's encoder and compared, the full conversation (assistant turns with
// their </s>) and the generation prompt (everything before the last assistant turn).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeChat } from "../../runtime/text/chat/encode.ts";
import { HfTokenizer } from "../../runtime/text/hf/hf-tokenizer.ts";
import { Tekkenizer } from "../../runtime/text/tekken/tekken.ts";
import type { Tokenizer } from "../../runtime/text/tokenizer.ts";
import type { ChatRequest } from "../../runtime/text/chat/types.ts";
import { fixtureDir, repoRoot } from "../helpers/fixtures.ts";

interface Case {
  name: string;
  kind: string;
  request: ChatRequest & { messages: unknown[] };
  prompt_messages: number;
  text: string;
  ids: number[];
  trained: number[];
  prompt_text: string;
  prompt_ids: number[];
  legacy_text?: string;
}
const data = JSON.parse(readFileSync(join(repoRoot, "test", "gust-mini", "template-cases.json"), "utf8")) as {
  cases: Case[];
};
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

// the fixture vocabulary (controls at 0-63, as gust-mini's) with gust-mini's image limit: 224 px, 28 px cells
const image = { imagePatchSize: 14, maxImageSize: 224, spatialMergeSize: 2 };
const tekkenDoc = readJson(join(fixtureDir("tiny-mistral3"), "tekken.json"));
tekkenDoc.image.max_image_size = 224;
const tokenizers: Record<string, Tokenizer> = {
  tekken: Tekkenizer.fromJSON(tekkenDoc),
  "tokenizer.json": new HfTokenizer(readJson(join(repoRoot, "test", "text", "vectors", "tiny-tokenizer.json")), {}, {
    image,
  }),
};

/** The full conversation ends with an assistant turn; a trailing user message makes it a valid request whose
 *  encoding is the conversation followed by exactly [INST].[/INST]. */
function encodeFull(tok: Tokenizer, c: Case) {
  const ids =
    encodeChat(tok, { ...c.request, messages: [...c.request.messages, { role: "user", content: "." }] } as ChatRequest)
      .ids;
  const tail = [tok.controlId("[INST]"), ...tok.encode("."), tok.controlId("[/INST]")];
  expect(ids.slice(ids.length - tail.length), "the trailing user message").toEqual(tail);
  return ids.slice(0, ids.length - tail.length);
}
const encodePrompt = (tok: Tokenizer, c: Case) =>
  encodeChat(tok, { ...c.request, messages: c.request.messages.slice(0, c.prompt_messages) } as ChatRequest).ids;

describe("gust-mini's training template equals gust's v15 encoder", () => {
  it("covers every task kind, reasoning settings, tools, images of several sizes, multi-turn and non-ASCII", () => {
    const cs = data.cases;
    expect(cs.length).toBeGreaterThanOrEqual(45);
    expect(new Set(cs.map((c) => c.kind))).toEqual(
      new Set(["math", "tool", "json", "recall", "copy", "small", "vision"]),
    );
    const efforts = new Set(cs.map((c) => (c.request as { reasoning_effort?: string }).reasoning_effort ?? "absent"));
    expect(efforts).toEqual(new Set(["absent", "none", "high"]));
    expect(cs.filter((c) => c.text.includes("[TOOL_RESULTS]")).length).toBeGreaterThanOrEqual(5);
    expect(cs.some((c) => (c.text.match(/\[TOOL_CALLS\]/g) ?? []).length > 1)).toBe(true);
    expect(cs.some((c) => c.text.includes("[THINK][/THINK]"))).toBe(true);
    expect(cs.some((c) => (c.text.match(/\[INST\]/g) ?? []).length > 1 && c.text.includes("[THINK]"))).toBe(true);
    expect(cs.some((c) => /[^\x00-\x7f]/.test(c.text) && c.text.includes("[ARGS]"))).toBe(true);
    const sizes = new Set(cs.filter((c) => c.kind === "vision").map((c) => c.name.split("image=")[1]));
    expect(sizes.size).toBeGreaterThanOrEqual(4);
  });

  for (const [which, tok] of Object.entries(tokenizers)) {
    describe(`through ${which}`, () => {
      it.each(data.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
        const full = encodeFull(tok, c);
        expect(tok.decode(full, "show")).toBe(c.text);
        expect(full).toEqual(c.ids);
        const prompt = encodePrompt(tok, c);
        expect(tok.decode(prompt, "show")).toBe(c.prompt_text);
        expect(prompt).toEqual(c.prompt_ids);
        expect(full.slice(0, prompt.length)).toEqual(prompt);
      });
    });
  }

  it("trains exactly the assistant turns: the masked tokens are gust's assistant output", () => {
    const tok = tokenizers.tekken;
    for (const c of data.cases) {
      expect(c.trained.length).toBe(c.ids.length);
      // one trained run per assistant turn, each ending with </s>; the last one is everything after the prompt
      const runs: number[][] = [];
      c.trained.forEach((t, i) => {
        if (t && (i === 0 || !c.trained[i - 1])) runs.push([]);
        if (t) runs[runs.length - 1].push(c.ids[i]);
      });
      const assistants = (c.request.messages as Array<{ role: string }>).filter((m) => m.role === "assistant").length;
      expect(runs.length, c.name).toBe(assistants);
      for (const r of runs) expect(r[r.length - 1]).toBe(tok.eosId);
      const lastRun = c.ids.slice(c.prompt_ids.length);
      expect(lastRun.every((_, i) => c.trained[c.prompt_ids.length + i] === 1), c.name).toBe(true);
    }
  });

  it("would have caught the shared template's differences (controls)", () => {
    const legacy = data.cases.filter((c) => c.legacy_text !== undefined);
    // no [MODEL_SETTINGS] when reasoning_effort is absent; \u escapes in tool-call arguments
    expect(legacy.some((c) => !c.legacy_text!.includes("[MODEL_SETTINGS]"))).toBe(true);
    expect(legacy.some((c) => c.legacy_text!.includes("\\u00"))).toBe(true);
    for (const c of legacy) {
      expect(tokenizers.tekken.decode(encodeFull(tokenizers.tekken, c), "show")).not.toBe(c.legacy_text);
    }
  });
});
