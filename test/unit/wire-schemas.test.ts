// The wire's valibot schemas: what each side accepts from the other, and the field a refusal names.
import { describe, expect, it } from "vitest";
import { parseClientMessage, parseServerMessage, WireError } from "../../runtime/wire/schemas.ts";

const refusal = (raw: unknown) => {
  try {
    parseClientMessage(raw);
  } catch (e) {
    if (e instanceof WireError) return { message: e.message, id: e.id };
    throw e;
  }
  return null;
};

describe("gateway → runtime frames", () => {
  it("passes a full generate message through unchanged", () => {
    const msg = {
      type: "generate",
      id: "7",
      promptIds: [1, 5, 9],
      images: [{ width: 28, height: 28, byteOffset: 0, hash: "h" }],
      sampling: { temperature: 0.5, seed: 3 },
      maxTokens: 4,
      stopIds: [2],
      reasoningBudget: null,
      responseFormat: { type: "json_schema", schema: { type: "object" } },
      n: 2,
    };
    expect(parseClientMessage(structuredClone(msg))).toEqual(msg);
    expect(parseClientMessage({ type: "abort", id: "7" })).toEqual({ type: "abort", id: "7" });
  });

  it("refuses malformed frames naming the field, with the request id when there is one", () => {
    expect(refusal({ type: "generate", id: "1", promptIds: "1,2" })).toEqual({
      message: expect.stringMatching(/^promptIds must be an array of token ids/),
      id: "1",
    });
    expect(refusal({ type: "generate", id: "2", promptIds: [1, 2.5] })?.message).toMatch(/^promptIds\[1\] must be/);
    expect(refusal({ type: "generate", id: "3", promptIds: [1], responseFormat: { type: "yaml" } })?.message).toMatch(
      /^responseFormat must be \{"type": "json_object"\}/,
    );
    expect(
      refusal({ type: "generate", id: "4", promptIds: [1], toolCalls: { tools: [{}], parallel: true } })?.message,
    ).toMatch(/^toolCalls\.tools\[0\]\.name must be/);
    const image = { width: 0, height: 28, byteOffset: 0, hash: "h" };
    expect(refusal({ type: "generate", id: "6", promptIds: [1], images: [image] })?.message).toMatch(
      /^images\[0\]\.width must be a positive integer, got 0/,
    );
    expect(refusal({ type: "frobnicate", id: "5" })).toEqual({
      message: expect.stringMatching(/unknown message type "frobnicate"/),
      id: "5",
    });
    expect(refusal({ type: "generate" })).toEqual({ message: "Every frame needs a type and a string id", id: null });
  });
});

describe("runtime → gateway frames", () => {
  it("accepts deltas with log-probs and refuses a delta with a broken token", () => {
    const deltas = {
      type: "deltas",
      deltas: [{ id: "1", index: 0, tokens: [[5, -0.1], [6, -0.2, [[6, -0.2], [7, -1]]]], finish: null }],
    };
    expect(parseServerMessage(structuredClone(deltas))).toEqual(deltas);
    const broken = { type: "deltas", deltas: [{ id: "1", index: 0, tokens: [[5]], finish: null }] };
    expect(() => parseServerMessage(broken)).toThrow(/deltas\[0\]\.tokens\[0\] must be \[token, logprob\]/);
    expect(() => parseServerMessage({ type: "error", id: null, code: "nope", message: "x" })).toThrow(WireError);
  });
});
