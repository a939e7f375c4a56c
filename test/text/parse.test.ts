import { describe, expect, it } from "vitest";
import { foldEvents, parseOutput } from "../../runtime/text/parse/output.ts";
import { OutputStreamParser } from "../../runtime/text/parse/stream.ts";
import type { StreamEvent } from "../../runtime/text/parse/stream.ts";
import { Detokenizer } from "../../runtime/text/parse/detok.ts";
import { fixtureTekken, randomText, rng } from "./helpers.ts";

const tok = fixtureTekken();
const C = (name: string) => tok.controlId(name);
/** Build ids from parts: control names in brackets/angles, everything else as text. */
function ids(...parts: string[]): number[] {
  return parts.flatMap((p) => (tok.findControl(p) !== undefined ? [C(p)] : tok.encode(p)));
}
const newId = (i: number) => `call${String(i).padStart(5, "0")}`;

function streamTokenByToken(seq: number[]) {
  const p = new OutputStreamParser(tok, { newId });
  const events: StreamEvent[] = [];
  for (const id of seq) events.push(...p.push([id]));
  events.push(...p.finish());
  return { events, result: foldEvents(events, p.hasReasoning, p.ended) };
}

const CASES: Array<[string, number[], object]> = [
  ["plain content", ids("Hello there.", "</s>"), {
    content: "Hello there.",
    reasoning: null,
    toolCalls: [],
    errors: [],
    ended: true,
  }],
  ["reasoning then content", ids("[THINK]", "Let me add 2 and 3.", "[/THINK]", "It is 5.", "</s>"), {
    content: "It is 5.",
    reasoning: "Let me add 2 and 3.",
  }],
  ["content before a think block is content", ids("Hmm. ", "[THINK]", "x", "[/THINK]", "ok", "</s>"), {
    content: "Hmm. ok",
    reasoning: "x",
  }],
  ["stream cut inside [THINK]: all reasoning", ids("[THINK]", "I was thinking about"), {
    content: null,
    reasoning: "I was thinking about",
    ended: false,
    errors: [],
  }],
  ["empty think block", ids("[THINK]", "[/THINK]", "a", "</s>"), { content: "a", reasoning: "" }],
  ["stray [/THINK] is dropped", ids("a", "[/THINK]", "b", "</s>"), { content: "ab", reasoning: null }],
  [
    "reasoning followed by parallel tool calls",
    ids(
      "[THINK]",
      "Two cities.",
      "[/THINK]",
      "[TOOL_CALLS]",
      "get_weather",
      "[ARGS]",
      '{"city": "Paris"}',
      "[TOOL_CALLS]",
      "get_weather",
      "[ARGS]",
      '{"city": "Rome"}',
      "</s>",
    ),
    {
      content: null,
      reasoning: "Two cities.",
      errors: [],
      toolCalls: [
        { id: "call00000", name: "get_weather", arguments: '{"city": "Paris"}' },
        { id: "call00001", name: "get_weather", arguments: '{"city": "Rome"}' },
      ],
    },
  ],
  [
    "content and a tool call",
    ids("Checking.", "[TOOL_CALLS]", "calc", "[ARGS]", '{"e": "2+3", "n": [1, {"x": "}"}]}', "</s>"),
    {
      content: "Checking.",
      toolCalls: [{ id: "call00000", name: "calc", arguments: '{"e": "2+3", "n": [1, {"x": "}"}]}' }],
      errors: [],
    },
  ],
  ["stream cut inside a tool name", ids("[TOOL_CALLS]", "get_wea"), {
    toolCalls: [],
    errors: [{ code: "tool-call-truncated", index: 0, text: "get_wea" }],
    ended: false,
  }],
  ["stream cut inside JSON arguments", ids("[TOOL_CALLS]", "f", "[ARGS]", '{"a": "unfinished'), {
    toolCalls: [],
    errors: [{ code: "tool-call-truncated", index: 0, text: '{"a": "unfinished' }],
  }],
  ["malformed JSON arguments are an error, not content", ids("[TOOL_CALLS]", "f", "[ARGS]", '{"a": }', "</s>"), {
    content: null,
    toolCalls: [],
    errors: [{ code: "tool-arguments-invalid", index: 0, text: '{"a": }' }],
  }],
  ["text after the arguments", ids("[TOOL_CALLS]", "f", "[ARGS]", '{"a": 1} and more', "</s>"), {
    toolCalls: [{ name: "f", arguments: '{"a": 1}' }],
    errors: [{ code: "tool-arguments-trailing", text: "andmore" }],
  }],
  [
    "invalid function name",
    ids("[TOOL_CALLS]", "no way", "[ARGS]", "{}", "[TOOL_CALLS]", "ok", "[ARGS]", "{}", "</s>"),
    {
      toolCalls: [{ id: "call00001", name: "ok", arguments: "{}" }],
      errors: [{ code: "tool-name-invalid", index: 0, text: "no way" }],
    },
  ],
  [
    "older list format [TOOL_CALLS][{name, arguments}]",
    ids("[TOOL_CALLS]", '[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]', "</s>"),
    {
      toolCalls: [{ id: "call00000", name: "f", arguments: '{"a": 1}' }, {
        id: "call00001",
        name: "g",
        arguments: "{}",
      }],
      errors: [],
    },
  ],
  ["name{args} without [ARGS]", ids("[TOOL_CALLS]", 'f{"a": 2}', "</s>"), {
    toolCalls: [{ name: "f", arguments: '{"a": 2}' }],
    errors: [],
  }],
  ["scalar arguments close at the end", ids("[TOOL_CALLS]", "f", "[ARGS]", "42", "</s>"), {
    toolCalls: [{ name: "f", arguments: "42" }],
    errors: [],
  }],
  ["a call with no arguments", ids("[TOOL_CALLS]", "f", "[ARGS]", "</s>"), {
    toolCalls: [],
    errors: [{ code: "tool-call-truncated", index: 0 }],
  }],
  ["ids after </s> are ignored", ids("a", "</s>", "b", "[TOOL_CALLS]"), { content: "a", ended: true, errors: [] }],
  [
    "multi-byte characters in every channel",
    ids("[THINK]", "été 😀", "[/THINK]", "日本 🎉", "[TOOL_CALLS]", "f", "[ARGS]", '{"k": "naïve ☃"}', "</s>"),
    { reasoning: "été 😀", content: "日本 🎉", toolCalls: [{ name: "f", arguments: '{"k": "naïve ☃"}' }] },
  ],
];

describe("output parsing on token ids", () => {
  for (const [name, seq, want] of CASES) {
    it(name, () => {
      const oneShot = parseOutput(tok, seq, { newId });
      expect(oneShot).toMatchObject(want);
      const { events, result } = streamTokenByToken(seq);
      expect(result).toEqual(oneShot);
      // no broken characters at chunk edges: deltas never hold U+FFFD for valid input
      for (const e of events) if ("text" in e) expect(e.text).not.toContain("\ufffd");
    });
  }

  it("token-by-token feeding equals one-shot parsing under random chunkings", () => {
    const rand = rng(5);
    for (const [, seq] of CASES) {
      const p = new OutputStreamParser(tok, { newId });
      const events: StreamEvent[] = [];
      for (let i = 0; i < seq.length;) {
        const n = 1 + Math.floor(rand() * 4);
        events.push(...p.push(seq.slice(i, i + n)));
        i += n;
      }
      events.push(...p.finish());
      expect(foldEvents(events, p.hasReasoning, p.ended)).toEqual(parseOutput(tok, seq, { newId }));
    }
  });

  it("streams the name once, then argument fragments", () => {
    const { events } = streamTokenByToken(
      ids("[TOOL_CALLS]", "get_weather", "[ARGS]", '{"city": "Paris", "days": 3}', "</s>"),
    );
    const kinds = events.map((e) => e.type);
    expect(kinds[0]).toBe("tool_call_start");
    expect(kinds.filter((k) => k === "tool_call_start").length).toBe(1);
    expect(kinds.filter((k) => k === "tool_call_args").length).toBeGreaterThan(3);
    expect(kinds[kinds.length - 1]).toBe("tool_call_end");
    expect(events[0]).toEqual({ type: "tool_call_start", index: 0, id: "call00000", name: "get_weather" });
    const args = events.filter((e) => e.type === "tool_call_args").map((e) => (e as { text: string }).text).join("");
    expect(args).toBe('{"city": "Paris", "days": 3}');
  });

  it("gives random 9-character ids by default", () => {
    const r = parseOutput(tok, ids("[TOOL_CALLS]", "f", "[ARGS]", "{}", "</s>"));
    expect(r.toolCalls[0].id).toMatch(/^[a-zA-Z0-9]{9}$/);
  });
});

describe("incremental detokenization", () => {
  it("equals one-shot decode for random text and random ids, never splitting a character", () => {
    const rand = rng(77);
    for (let k = 0; k < 200; k++) {
      const s = randomText(rand, 60);
      const seq = [C("<s>"), ...tok.encode(s), C("[INST]"), ...tok.encode([...s].slice(0, 7).join(""))];
      for (const policy of ["drop", "show"] as const) {
        const d = new Detokenizer(tok, policy);
        let out = "";
        for (const id of seq) {
          const piece = d.push([id]);
          expect(piece.includes("\ufffd")).toBe(false);
          out += piece;
        }
        out += d.finish();
        expect(out).toBe(tok.decode(seq, policy));
      }
    }
    // arbitrary ids (invalid UTF-8 included) still match one-shot decoding
    for (let k = 0; k < 200; k++) {
      const seq = Array.from({ length: 30 }, () => Math.floor(rand() * tok.vocabSize));
      const d = new Detokenizer(tok, "show");
      const out = seq.map((id) => d.push([id])).join("") + d.finish();
      expect(out).toBe(tok.decode(seq, "show"));
    }
  });
});

describe("ignore_eos", () => {
  const seq = ids("Hello.", "</s>", " More after the end.", "</s>", " And more.");
  const parse = (ignoreEos: boolean) => {
    const p = new OutputStreamParser(tok, { newId, ignoreEos });
    const events = [...p.push(seq), ...p.finish()];
    return foldEvents(events, p.hasReasoning, p.ended);
  };

  it("by default, </s> ends the output and what follows is dropped", () => {
    expect(parse(false)).toMatchObject({ content: "Hello.", ended: true });
  });

  it("when the runtime ignores </s>, it is dropped like a control token and the text after it is content", () => {
    expect(parse(true)).toMatchObject({ content: "Hello. More after the end. And more.", ended: false });
  });
});
