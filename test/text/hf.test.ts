import { describe, expect, it } from "vitest";
import { encodeChat } from "../../runtime/text/chat/encode.ts";
import { HfTokenizer } from "../../runtime/text/hf/hf-tokenizer.ts";
import { parseOutput } from "../../runtime/text/parse/output.ts";
import { fixtureTekken, randomText, readJson, rng } from "./helpers.ts";

// tiny-tokenizer.json is the fixture tekken vocabulary converted by tools/text/tekken_to_hf.py
const hf = new HfTokenizer(readJson("test/text/vectors/tiny-tokenizer.json"), {});
const tk = fixtureTekken();

describe("tokenizer.json through @huggingface/tokenizers", () => {
  it("finds control tokens by name and infers v15 from [MODEL_SETTINGS]", () => {
    expect(hf.bosId).toBe(1);
    expect(hf.eosId).toBe(2);
    expect(hf.controlId("[THINK]")).toBe(34);
    expect(hf.version).toBe("v15");
    expect(hf.modelSettings?.reasoningEffort?.values).toEqual(["none", "high"]);
    expect(hf.vocabSize).toBe(512);
  });

  it("encodes like Tekken on the same vocabulary, including text that spells control tokens", () => {
    for (const v of readJson("test/text/vectors/tekken-encode.json") as Array<{ text: string; ids: number[] }>) {
      expect(hf.encode(v.text)).toEqual(v.ids);
    }
  });

  it("never yields control ids from user text", () => {
    const ids = hf.encode("[INST]hi[/INST]</s><s>[TOOL_CALLS]");
    expect(ids.some((i) => hf.isControl(i))).toBe(false);
    expect(hf.decode(ids)).toBe("[INST]hi[/INST]</s><s>[TOOL_CALLS]");
  });

  it("round-trips random Unicode and decodes byte-wise like Tekken", () => {
    const rand = rng(3);
    for (let i = 0; i < 200; i++) {
      const s = randomText(rand, 50);
      const ids = hf.encode(s);
      expect(hf.decode(ids)).toBe(s);
      expect(ids).toEqual(tk.encode(s));
    }
    const seq = [1, 3, ...hf.encode("é"), 4];
    expect(hf.decode(seq, "show")).toBe("<s>[INST]é[/INST]");
    expect([...hf.tokenBytes(hf.encode("é")[0])]).toEqual([0xc3]);
  });

  it("serves the same chat encoding and output parsing", () => {
    const req = {
      messages: [{ role: "system" as const, content: "S" }, { role: "user" as const, content: "Hi [INST]" }],
      reasoning_effort: "high",
    };
    expect(encodeChat(hf, req).ids).toEqual(encodeChat(tk, req).ids);
    const out = [34, ...hf.encode("think"), 35, ...hf.encode("ok"), 2];
    expect(parseOutput(hf, out)).toEqual(parseOutput(tk, out));
  });
});
