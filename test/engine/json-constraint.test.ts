// JSON mode through the engine on the real tiny model: every answer is a JSON object when it ends on
// end-of-sequence and a viable prefix of one when it runs out of tokens, whatever the seed and biases; the phase
// logic around [THINK] is checked on the rows the wrapped sampler receives.
import { beforeAll, describe, expect, it } from "vitest";
import { JsonConstraints } from "../../runtime/sampling/constraints.ts";
import { samplerFactory } from "../../runtime/sampling/sampler-factory.ts";
import type { TokenSampler } from "../../runtime/sampling/token-sampler.ts";
import { parseOutput } from "../../runtime/text/parse/output.ts";
import { loadTokenizer } from "../../runtime/text/index.ts";
import type { Tokenizer } from "../../runtime/text/tokenizer.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { makeEngine } from "../helpers/engine.ts";

const THINK = 34, END_THINK = 35;
let tok: Tokenizer;
let constraints: JsonConstraints;
beforeAll(async () => {
  tok = await loadTokenizer(fixtureDir("tiny-mistral3-fp8"));
  constraints = new JsonConstraints(tok);
});

function idOf(text: string): number {
  const ids = tok.encode(text);
  if (ids.length !== 1) throw new Error(`${JSON.stringify(text)} is not one token`);
  return ids[0];
}

/** One request through a fresh engine with a wrapped sampler; the generated ids and the finish reason. */
function runWrapped(
  promptIds: number[],
  maxTokens: number,
  reasoningBudget: number | null,
  sampler: (index: number) => TokenSampler,
) {
  const { engine, dispose } = makeEngine("tiny-mistral3-fp8", 64, 16);
  try {
    const ids: number[] = [];
    let finish = "";
    engine.add({ requestId: "r", promptIds, maxTokens, reasoningBudget, sampler });
    engine.runToCompletion((e) => {
      ids.push(...e.tokens.map((t) => t.token));
      if (e.finishReason) finish = e.finishReason;
    });
    return { ids, finish };
  } finally {
    dispose();
  }
}

function generate(
  seed: number,
  opts: { maxTokens: number; bias?: Record<number, number>; promptIds?: number[]; reasoningBudget?: number | null },
) {
  const promptIds = opts.promptIds ?? [1, 3, ...tok.encode("Answer in JSON."), 4];
  const base = samplerFactory({ temperature: 1, seed, logitBias: opts.bias ?? {} }, tok.vocabSize, promptIds);
  return runWrapped(
    promptIds,
    opts.maxTokens,
    opts.reasoningBudget ?? null,
    constraints.wrap(base, promptIds, opts.reasoningBudget !== 0),
  );
}

function answerText(ids: number[]): string {
  const end = ids.lastIndexOf(END_THINK);
  return tok.decode(ids.slice(end + 1));
}

describe("JSON mode on the tiny model", () => {
  it("ends every answer as a JSON object or, cut by max_tokens, as a prefix the grammar still accepts", () => {
    const { grammar } = constraints.masker;
    // biases toward closing quotes and braces make documents end within the context; the constraint must hold anyway
    const bias = { [idOf('"')]: 4, [idOf("}")]: 4, [idOf(":")]: 2 };
    const finishes: Record<string, number> = {};
    for (let seed = 0; seed < 12; seed++) {
      const { ids, finish } = generate(seed, { maxTokens: 120, bias, reasoningBudget: 0 });
      finishes[finish] = (finishes[finish] ?? 0) + 1;
      const text = answerText(ids);
      if (finish === "stop") {
        const value = JSON.parse(text);
        expect(typeof value === "object" && value !== null && !Array.isArray(value), text).toBe(true);
      } else {
        expect(finish).toBe("length");
        expect(grammar.stepAll(grammar.start, new TextEncoder().encode(text)), text).toBeGreaterThanOrEqual(0);
      }
      expect(ids.includes(THINK), "a budget of 0 forbids [THINK]").toBe(false);
    }
    expect(finishes.stop ?? 0, JSON.stringify(finishes)).toBeGreaterThan(0);
  });

  it("leaves the reasoning free and constrains what follows [/THINK] (budget-forced included)", () => {
    // the prompt ends inside [THINK]: a budget of 3 forces [/THINK] after three free tokens
    const promptIds = [1, 3, ...tok.encode("Think, then JSON."), 4, THINK];
    for (let seed = 0; seed < 4; seed++) {
      const { ids, finish } = generate(seed, {
        maxTokens: 60,
        promptIds,
        reasoningBudget: 3,
        bias: { [idOf('"')]: 4, [idOf("}")]: 4 },
      });
      const end = ids.indexOf(END_THINK);
      expect(end).toBeGreaterThanOrEqual(0);
      expect(end).toBeLessThanOrEqual(3);
      const text = tok.decode(ids.slice(end + 1));
      expect(text.trimStart().startsWith("{") || text.trim() === "", text).toBe(true);
      if (finish === "stop") expect(() => JSON.parse(text)).not.toThrow();
    }
  });
});

describe("required tool calls on the tiny model", () => {
  const TOOLS = [
    {
      name: "get_weather",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, days: { type: "integer" } },
        required: ["city"],
      },
    },
    {
      name: "get_time",
      parameters: { type: "object", properties: { zone: { enum: ["UTC", "CET"] } }, required: ["zone"] },
    },
  ];

  function calls(seed: number, tools: typeof TOOLS, parallel: boolean) {
    const promptIds = [1, 3, ...tok.encode("Call a tool."), 4];
    const base = samplerFactory(
      { temperature: 1, seed, logitBias: { [idOf('"')]: 3, [idOf("}")]: 3 } },
      tok.vocabSize,
      promptIds,
    );
    return runWrapped(promptIds, 150, 0, constraints.wrapToolCalls(base, promptIds, false, { tools, parallel }));
  }

  it("answers only with calls to offered tools whose arguments follow each tool's schema", () => {
    let stopped = 0;
    for (let seed = 0; seed < 8; seed++) {
      const { ids, finish } = calls(seed, TOOLS, true);
      expect(ids[0]).toBe(tok.controlId("[TOOL_CALLS]"));
      if (finish !== "stop") continue;
      stopped++;
      const out = parseOutput(tok, ids);
      expect(out.errors).toEqual([]);
      expect(out.content ?? "").toBe("");
      expect(out.toolCalls.length).toBeGreaterThan(0);
      for (const call of out.toolCalls) {
        const args = JSON.parse(call.arguments);
        if (call.name === "get_weather") expect(typeof args.city).toBe("string");
        else {
          expect(call.name).toBe("get_time");
          expect(["UTC", "CET"]).toContain(args.zone);
        }
      }
    }
    expect(stopped).toBeGreaterThan(0);
  });

  it("a named function gets exactly one call to it", () => {
    for (let seed = 0; seed < 4; seed++) {
      const { ids, finish } = calls(seed, [TOOLS[1]], false);
      const out = parseOutput(tok, ids);
      expect(out.toolCalls.map((c) => c.name)).toEqual(
        finish === "stop" ? ["get_time"] : out.toolCalls.map(() => "get_time"),
      );
      expect(ids.filter((id) => id === tok.controlId("[TOOL_CALLS]"))).toHaveLength(1);
    }
  });
});

describe("optional tool calls (tool_choice auto) on the tiny model", () => {
  const WEATHER = {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { enum: ["Paris", "Oslo"] } }, required: ["city"] },
  };

  function auto(seed: number, callBias: number, parallel = true) {
    const promptIds = [1, 3, ...tok.encode("Maybe call a tool."), 4];
    const calls = tok.controlId("[TOOL_CALLS]");
    const base = samplerFactory(
      { temperature: 1, seed, logitBias: { [calls]: callBias, [idOf('"')]: 3, [idOf("}")]: 3 } },
      tok.vocabSize,
      promptIds,
    );
    // a strict tool (schema held) and a non-strict one (any JSON object)
    const tools = [WEATHER, { name: "mcp__files__read" }];
    return runWrapped(
      promptIds,
      120,
      0,
      constraints.wrapToolCalls(base, promptIds, false, { tools, parallel, optional: true }),
    );
  }

  it("text stays free, and every call the model begins names an offered tool with readable arguments", () => {
    let called = 0;
    for (let seed = 0; seed < 10; seed++) {
      const { ids, finish } = auto(seed, 4);
      const out = parseOutput(tok, ids);
      if (finish === "stop") expect(out.errors).toEqual([]);
      for (const call of out.toolCalls) {
        called++;
        expect(["get_weather", "mcp__files__read"]).toContain(call.name);
        const args = JSON.parse(call.arguments);
        expect(typeof args === "object" && args !== null && !Array.isArray(args)).toBe(true);
        if (call.name === "get_weather") expect(["Paris", "Oslo"]).toContain(args.city);
      }
    }
    expect(called).toBeGreaterThan(0);
  });

  it("a free answer gets the row unchanged; with parallel false at most one call is made", () => {
    const free = auto(1, -100);
    expect(free.ids.includes(tok.controlId("[TOOL_CALLS]"))).toBe(false);
    for (let seed = 0; seed < 6; seed++) {
      const { ids } = auto(seed, 6, false);
      expect(ids.filter((id) => id === tok.controlId("[TOOL_CALLS]")).length).toBeLessThanOrEqual(1);
    }
  });
});

describe("JsonConstraints.warm", () => {
  it("memoises the masks of the states a typical document passes through, in-string ones included", () => {
    const c = new JsonConstraints(tok);
    const { grammar } = c.masker;
    const inString = grammar.stepAll(grammar.start, new TextEncoder().encode('{"key": "va'));
    const inNested = grammar.stepAll(grammar.start, new TextEncoder().encode('{"list": [1, {"k": "'));
    expect(c.masker.has(inString)).toBe(false);
    c.warm();
    expect(c.masker.has(grammar.start)).toBe(true);
    expect(c.masker.has(inString)).toBe(true);
    expect(c.masker.has(inNested)).toBe(true);
  });
});

describe("a grammar that outgrows its DFA budget", () => {
  it("ends that answer instead of failing the engine step", () => {
    const small = new JsonConstraints(tok, 6);
    const promptIds = [1, 3, ...tok.encode("JSON"), 4];
    const schema = {
      type: "object",
      properties: { alpha: { type: "string" }, beta: { type: "integer" } },
      required: ["alpha", "beta"],
    };
    const wrapped = small.wrap(
      samplerFactory({ temperature: 1, seed: 1 }, tok.vocabSize, promptIds),
      promptIds,
      false,
      { type: "json_schema", schema },
    );
    const { ids, finish } = runWrapped(promptIds, 50, 0, wrapped);
    expect(finish).toBe("stop");
    expect(ids.at(-1)).toBe(tok.eosId);
    expect(ids.length).toBeLessThan(50);
  });
});

describe("JsonSampler phases", () => {
  /** An inner sampler that records the row it was asked to draw from and returns its argmax. */
  function recorder() {
    const rows: Float32Array[] = [];
    const inner: TokenSampler = {
      sample: (row, _generated, _step, rawLogits) => {
        rows.push(row.slice());
        let best = 0;
        for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        // -1 marks a log-probability reported from a raw row handed in beside the masked one
        return { token: best, logprob: rawLogits !== undefined && rawLogits !== row ? -1 : 0 };
      },
      forced: (_logits, token) => ({ token, logprob: -1 }),
    };
    return { rows, factory: () => inner };
  }
  const allowedIds = (row: Float32Array) => Array.from(row.keys()).filter((i) => row[i] > -Infinity);

  it("allows [THINK] or the start of an object first; anything but EOS inside [THINK]; EOS once the object is closed", () => {
    const { rows, factory } = recorder();
    const sampler = constraints.wrap(factory, [1, 3, 4], true)(0);
    const logits = new Float32Array(tok.vocabSize).fill(0);
    const eos = tok.eosId;
    const ids: number[] = [];
    const result = sampler.sample(logits, ids, 0);
    expect(result.logprob).toBe(-1); // reported from the raw logits, not the masked row
    const first = allowedIds(rows[0]);
    expect(first).toContain(THINK);
    expect(first).toContain(idOf("{"));
    expect(first).not.toContain(eos);
    expect(first).not.toContain(idOf('"'));
    ids.push(THINK, idOf("x"));
    sampler.sample(logits, ids, 2);
    expect(allowedIds(rows[1]).length).toBe(tok.vocabSize - 1); // all but EOS
    expect(allowedIds(rows[1])).not.toContain(eos);
    ids.push(END_THINK);
    sampler.sample(logits, ids, 3);
    expect(allowedIds(rows[2])).toContain(idOf("{"));
    expect(allowedIds(rows[2])).not.toContain(THINK);
    ids.push(...tok.encode('{"s": "'));
    sampler.sample(logits, ids, ids.length);
    // inside a string most tokens are allowed (the mask is kept as its blocked list): the row must still be exact
    const { grammar, trie } = constraints.masker;
    const inString = grammar.stepAll(grammar.start, new TextEncoder().encode('{"s": "'));
    const want = Array.from({ length: tok.vocabSize }, (_, id) => id).filter((id) =>
      !tok.isControl(id) && grammar.stepAll(inString, trie.tokenBytes(id)) >= 0
    );
    expect(allowedIds(rows[3])).toEqual(want);
    expect(constraints.masker.allowed(inString).complement).toBe(true);
    rows.splice(3, 1);
    ids.push(...tok.encode('x", "a": 1'));
    sampler.sample(logits, ids, ids.length);
    expect(allowedIds(rows[3])).not.toContain(eos);
    expect(allowedIds(rows[3])).toContain(idOf("}"));
    ids.push(idOf("}"));
    sampler.sample(logits, ids, ids.length);
    const done = allowedIds(rows[4]);
    expect(done).toContain(eos);
    expect(done).not.toContain(idOf("}"));
    expect(done.every((id) => id === eos || /^\s+$/.test(tok.decode([id])))).toBe(true);
  });

  it("starts inside [THINK] when the prompt ends in one, and never offers [THINK] when thinking is off", () => {
    const a = recorder();
    constraints.wrap(a.factory, [1, 3, 4, THINK], true)(0).sample(new Float32Array(tok.vocabSize), [], 0);
    expect(allowedIds(a.rows[0]).length).toBe(tok.vocabSize - 1);
    const b = recorder();
    constraints.wrap(b.factory, [1, 3, 4], false)(0).sample(new Float32Array(tok.vocabSize), [], 0);
    expect(allowedIds(b.rows[0])).not.toContain(THINK);
  });
});
