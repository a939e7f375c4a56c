import { describe, expect, it } from "vitest";
import { Tekkenizer } from "../../runtime/text/tekken/tekken.ts";
import { translatePattern } from "../../runtime/text/tekken/pattern.ts";
import { fixtureTekken, randomText, readJson, rng } from "./helpers.ts";

const CONTROL_NAMES = [
  "<unk>",
  "<s>",
  "</s>",
  "[INST]",
  "[/INST]",
  "[AVAILABLE_TOOLS]",
  "[/AVAILABLE_TOOLS]",
  "[TOOL_RESULTS]",
  "[/TOOL_RESULTS]",
  "[TOOL_CALLS]",
  "[IMG]",
  "<pad>",
  "[IMG_BREAK]",
  "[IMG_END]",
  "[SYSTEM_PROMPT]",
  "[/SYSTEM_PROMPT]",
  "[ARGS]",
  "[THINK]",
  "[/THINK]",
  "[MODEL_SETTINGS]",
  "[/MODEL_SETTINGS]",
];

describe("tekken.json fixtures", () => {
  for (const dir of ["tiny-mistral3", "tiny-mistral3-fp8", "tiny-mistral3-native"]) {
    it(`loads ${dir}`, () => {
      const tk = Tekkenizer.fromJSON(readJson(`test/fixtures/${dir}/tekken.json`));
      expect(tk.version).toBe("v15");
      expect(tk.vocabSize).toBe(512);
      expect(tk.numSpecial).toBe(64);
      expect(tk.bosId).toBe(1);
      expect(tk.eosId).toBe(2);
      expect(tk.image).toEqual({ imagePatchSize: 14, maxImageSize: 112, spatialMergeSize: 2 });
      expect(tk.modelSettings?.reasoningEffort).toEqual({
        type: "enum",
        acceptsNone: true,
        default: "none",
        values: ["none", "high"],
      });
    });
  }

  it("looks control tokens up by name", () => {
    const tk = fixtureTekken();
    expect(tk.controlId("[THINK]")).toBe(34);
    expect(tk.controlId("[/THINK]")).toBe(35);
    expect(tk.controlId("[MODEL_SETTINGS]")).toBe(36);
    expect(tk.controlId("[ARGS]")).toBe(32);
    expect(tk.controlName(20)).toBe("<SPECIAL_20>");
    expect(tk.controlName(64)).toBeUndefined();
    expect(() => tk.controlId("[NOPE]")).toThrow(/\[NOPE\] is not in this tokenizer's special_tokens/);
  });
});

describe("Tekken encode", () => {
  const vectors: Array<{ text: string; ids: number[] }> = readJson("test/text/vectors/tekken-encode.json");
  for (const v of vectors) {
    it(`matches the Python reference on ${JSON.stringify(v.text.slice(0, 40))}`, () => {
      expect(fixtureTekken().encode(v.text)).toEqual(v.ids);
    });
  }

  it("never yields a control id from plain text, even text spelling control names", () => {
    const tk = fixtureTekken();
    const text = CONTROL_NAMES.join(" ") + CONTROL_NAMES.join("") + "<SPECIAL_20>";
    const ids = tk.encode(text);
    expect(ids.every((id) => !tk.isControl(id))).toBe(true);
    expect(tk.decode(ids)).toBe(text);
    const rand = rng(7);
    for (let i = 0; i < 200; i++) {
      const s = randomText(rand, 40) + CONTROL_NAMES[i % CONTROL_NAMES.length];
      expect(tk.encode(s).some((id) => id < 64)).toBe(false);
    }
  });

  it("long pieces take the heap merge and agree with short-piece merging", () => {
    const tk = fixtureTekken();
    // one pre-token of 1000 letters: split into words of <= 100 letters it must give the same ids as the
    // reference merge would; compare with the vector for "a"*300 extended.
    const v = vectors.find((x) => x.text === "a".repeat(300))!;
    expect(tk.encode("a".repeat(300))).toEqual(v.ids);
    const long = "abcdefghij".repeat(50);
    const ids = tk.encode(long);
    expect(tk.decode(ids)).toBe(long);
  });
});

describe("Tekken decode", () => {
  it("round-trips random Unicode (property test, 500 cases)", () => {
    const tk = fixtureTekken();
    const rand = rng(1234);
    for (let i = 0; i < 500; i++) {
      const s = randomText(rand, 80);
      const ids = tk.encode(s);
      expect(tk.decode(ids)).toBe(s);
    }
  });

  it("drops control tokens by default and shows their names on request", () => {
    const tk = fixtureTekken();
    const ids = [1, 3, ...tk.encode("Hi"), 4];
    expect(tk.decode(ids)).toBe("Hi");
    expect(tk.decode(ids, "show")).toBe("<s>[INST]Hi[/INST]");
  });

  it("control tokens are visibly distinct from text that looks like them", () => {
    const tk = fixtureTekken();
    const real = [3, ...tk.encode("x"), 4];
    const fake = tk.encode("[INST]x[/INST]");
    expect(tk.decode(real, "show")).toBe(tk.decode(fake, "show"));
    expect(real).not.toEqual(fake);
    expect(tk.decode(real, "drop")).toBe("x");
    expect(tk.decode(fake, "drop")).toBe("[INST]x[/INST]");
  });

  it("rejects ids out of range with the valid range", () => {
    expect(() => fixtureTekken().decode([512])).toThrow(/token id 512 is out of range: ids are integers 0\.\.511/);
    expect(() => fixtureTekken().decode([-1])).toThrow(/out of range/);
  });

  it("invalid UTF-8 across tokens becomes U+FFFD like Python's errors=replace", () => {
    const tk = fixtureTekken();
    const [a, b] = [0xe6, 0x97].map((byte) => byte + 64); // first two bytes of a 3-byte char
    expect(tk.decode([a, b])).toBe("\ufffd");
  });
});

describe("tekken.json validation", () => {
  const base = () => readJson("test/fixtures/tiny-mistral3/tekken.json");
  it("names an unknown version and lists the known ones", () => {
    const d = base();
    d.config.version = "v99";
    expect(() => Tekkenizer.fromJSON(d)).toThrow(
      /unknown tokenizer version "v99"; known versions: v1, v2, v3, v7, v11, v13, v15/,
    );
  });
  it("rejects out-of-order ranks", () => {
    const d = base();
    d.vocab[300].rank = 301;
    expect(() => Tekkenizer.fromJSON(d)).toThrow(/vocab\[300\]\.rank must be 300/);
  });
  it("rejects a bad reasoning_effort default", () => {
    const d = base();
    d.model_settings_builder.reasoning_effort.default = "low";
    expect(() => Tekkenizer.fromJSON(d)).toThrow(/default "low" is not one of \["none","high"\]/);
  });
  it("fills missing special tokens with <SPECIAL_i>", () => {
    const d = base();
    d.special_tokens = d.special_tokens.slice(0, 38);
    const tk = Tekkenizer.fromJSON(d);
    expect(tk.controlName(50)).toBe("<SPECIAL_50>");
  });
});

describe("pre-tokenizer pattern translation", () => {
  it("spells \\s as Unicode White_Space and drops possessive quantifiers", () => {
    const t = translatePattern("\\s+(?!\\S)|[^\\s\\p{L}]++");
    expect(new RegExp(t, "u").test("\ufeff")).toBe(true); // U+FEFF is not White_Space: matched by [^\s\p{L}]
    expect(new RegExp(`^(?:${translatePattern("\\s")})$`, "u").test("\u0085")).toBe(true);
    expect(new RegExp(`^(?:${translatePattern("\\s")})$`, "u").test("\ufeff")).toBe(false);
    expect(t.endsWith("]+")).toBe(true);
  });
});

import { bytePairEncode } from "../../runtime/text/tekken/bpe.ts";
import { RankTable } from "../../runtime/text/tekken/rank-table.ts";
import { keyToBytes } from "../../runtime/text/utf8.ts";

/** The rank table of a Map from binary strings to ranks 0..n-1 (the Map is the spec the table is checked against). */
function tableOf(ranks: Map<string, number>): RankTable {
  const tokens: Uint8Array[] = [];
  for (const [key, r] of ranks) tokens[r] = keyToBytes(key);
  return new RankTable(tokens);
}

describe("rank table", () => {
  const rand = rng(7);
  const ranks = new Map<string, number>();
  for (let i = 0; i < 256; i++) ranks.set(String.fromCharCode(i), i);
  while (ranks.size < 5000) {
    let t = "";
    for (let j = 0, len = 2 + Math.floor(rand() * 9); j < len; j++) t += String.fromCharCode(Math.floor(rand() * 256));
    if (!ranks.has(t)) ranks.set(t, ranks.size);
  }
  const table = tableOf(ranks);

  it("finds every token by its bytes, whole or as a range of a longer string, and gives its bytes back", () => {
    expect(table.size).toBe(5000);
    expect(table.firstDuplicate).toBe(-1);
    for (const [key, r] of ranks) {
      expect(table.rankOf(key)).toBe(r);
      expect(table.rankOf(`\u00ff${key}\u0000`, 1, key.length + 1)).toBe(r);
      expect([...table.bytes(r)]).toEqual([...keyToBytes(key)]);
    }
  });

  it("answers -1 for byte strings that are no token, as the Map does", () => {
    for (let c = 0; c < 5000; c++) {
      let key = "";
      for (let j = 0, len = 2 + Math.floor(rand() * 12); j < len; j++) {
        key += String.fromCharCode(Math.floor(rand() * 256));
      }
      const start = Math.floor(rand() * key.length);
      const end = start + Math.floor(rand() * (key.length - start + 1));
      expect(table.rankOf(key, start, end)).toBe(ranks.get(key.slice(start, end)) ?? -1);
    }
  });

  it("names the first rank whose bytes repeat an earlier one, and tekken.json loading refuses it", () => {
    const bytes = (s: string) => keyToBytes(s);
    expect(new RankTable([bytes("a"), bytes("bc"), bytes("a"), bytes("bc")]).firstDuplicate).toBe(2);
    expect(new RankTable([bytes("a"), bytes("ab")]).firstDuplicate).toBe(-1);
    const doc = readJson("test/fixtures/tiny-mistral3/tekken.json") as { vocab: { token_bytes: string }[] };
    doc.vocab[300].token_bytes = doc.vocab[299].token_bytes;
    expect(() => Tekkenizer.fromJSON(doc)).toThrow("vocab[300] repeats the bytes of an earlier rank");
  });
});

describe("byte-pair merge", () => {
  /** The textbook merge, written independently: lowest rank first, leftmost on ties. */
  function naive(key: string, ranks: Map<string, number>): number[] {
    let parts = [...key];
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = ranks.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < best) [best, at] = [r, i];
      }
      if (at < 0) return parts.map((p) => ranks.get(p)!);
      parts = [...parts.slice(0, at), parts[at] + parts[at + 1], ...parts.slice(at + 2)];
    }
  }
  it("the heap merge (pieces > 128 bytes) equals the naive merge on random pieces", () => {
    const ranks = new Map<string, number>();
    for (let i = 0; i < 256; i++) ranks.set(String.fromCharCode(i), i);
    const rand = rng(99);
    const alpha = "abcd";
    let r = 256;
    for (let i = 0; i < 300; i++) {
      const len = 2 + Math.floor(rand() * 5);
      let t = "";
      for (let j = 0; j < len; j++) t += alpha[Math.floor(rand() * alpha.length)];
      if (!ranks.has(t)) ranks.set(t, r++);
    }
    const table = tableOf(ranks);
    for (let c = 0; c < 50; c++) {
      const len = 129 + Math.floor(rand() * 400);
      let key = "";
      for (let j = 0; j < len; j++) key += alpha[Math.floor(rand() * alpha.length)];
      const out: number[] = [];
      bytePairEncode(key, table, out);
      expect(out).toEqual(naive(key, ranks));
    }
  });
});
