import { describe, expect, it } from "vitest";
import {
  DEFAULT_SAMPLING_PARAMS,
  type SamplingParams,
  SamplingParamsError,
  validateSamplingParams,
} from "../../runtime/sampling/params.ts";
import { SequenceSampler } from "../../runtime/sampling/sampler.ts";

const V = 1000;

function errorOf(p: unknown): SamplingParamsError {
  try {
    validateSamplingParams(p as SamplingParams, V);
  } catch (e) {
    if (e instanceof SamplingParamsError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(p)}`);
}

describe("validateSamplingParams", () => {
  it("fills vLLM's defaults", () => {
    expect(validateSamplingParams({}, V)).toEqual(DEFAULT_SAMPLING_PARAMS);
    expect(DEFAULT_SAMPLING_PARAMS).toMatchObject({
      temperature: 1,
      topP: 1,
      topK: 0,
      minP: 0,
      presencePenalty: 0,
      frequencyPenalty: 0,
      repetitionPenalty: 1,
      logprobs: null,
    });
  });

  it("normalises: top_k -1 and k ≥ vocabulary mean off, zero biases dropped, nulls are absent", () => {
    expect(validateSamplingParams({ topK: -1 }, V).topK).toBe(0);
    expect(validateSamplingParams({ topK: V }, V).topK).toBe(0);
    expect(validateSamplingParams({ topK: V - 1 }, V).topK).toBe(V - 1);
    expect(validateSamplingParams({ logitBias: { 3: 0, 4: -2 } }, V).logitBias).toEqual({ 4: -2 });
    expect(validateSamplingParams({ seed: null, temperature: null } as unknown as SamplingParams, V)).toMatchObject({
      seed: undefined,
      temperature: 1,
    });
  });

  it("accepts the edges of every range", () => {
    const p: SamplingParams = {
      temperature: 0,
      topK: 1,
      topP: 1,
      minP: 1,
      presencePenalty: -2,
      frequencyPenalty: 2,
      repetitionPenalty: 0.01,
      logitBias: { 0: -100, 999: 100 },
      seed: -(2 ** 53 - 1),
      logprobs: 20,
      maxTokens: 1,
      stopTokenIds: [0, 999],
    };
    const r = validateSamplingParams(p, V);
    expect(r).toMatchObject({ ...p, logitBias: { 0: -100, 999: 100 } });
    expect(validateSamplingParams(r, V)).toEqual(r); // idempotent: resolved params validate to themselves
  });

  it("names the field, the value and what is allowed", () => {
    expect(errorOf({ topP: 1.5 }).message).toBe("top_p must be in (0, 1], got 1.5");
    const cases: [unknown, string, RegExp][] = [
      [{ temperature: -0.1 }, "temperature", /temperature must be a number ≥ 0 \(0 = greedy\), got -0.1/],
      [{ temperature: NaN }, "temperature", /got NaN/],
      [{ temperature: "hot" }, "temperature", /got "hot"/],
      [{ topK: 0.5 }, "top_k", /top_k must be -1 or 0 \(off\) or an integer ≥ 1, got 0.5/],
      [{ topK: -2 }, "top_k", /got -2/],
      [{ topP: 0 }, "top_p", /top_p must be in \(0, 1\], got 0/],
      [{ minP: 1.01 }, "min_p", /min_p must be in \[0, 1\], got 1.01/],
      [{ presencePenalty: 2.5 }, "presence_penalty", /presence_penalty must be in \[-2, 2\], got 2.5/],
      [{ frequencyPenalty: -3 }, "frequency_penalty", /frequency_penalty must be in \[-2, 2\], got -3/],
      [{ repetitionPenalty: 0 }, "repetition_penalty", /repetition_penalty must be a number > 0 \(1 = off\), got 0/],
      [{ seed: 1.5 }, "seed", /seed must be an integer .*got 1.5/],
      [{ seed: 2 ** 60 }, "seed", /seed must be an integer/],
      [{ logprobs: 21 }, "logprobs", /logprobs must be an integer in \[0, 20\], got 21/],
      [{ logprobs: -1 }, "logprobs", /got -1/],
      [{ maxTokens: 0 }, "max_tokens", /max_tokens must be an integer ≥ 1, got 0/],
      [{ logitBias: { 5: 101 } }, "logit_bias[5]", /logit_bias\[5\] must be in \[-100, 100\], got 101/],
      [
        { logitBias: { 1000: 1 } },
        "logit_bias",
        /logit_bias keys must be token ids \(integers in \[0, 1000\)\), got "1000"/,
      ],
      [{ logitBias: { "-1": 1 } }, "logit_bias", /got "-1"/],
      [{ logitBias: { "07": 1 } }, "logit_bias", /got "07"/],
      [{ logitBias: [1, 2] }, "logit_bias", /logit_bias must be an object/],
      [
        { stopTokenIds: [1, 1000] },
        "stop_token_ids[1]",
        /stop_token_ids\[1\] must be a token id \(integer in \[0, 1000\)\), got 1000/,
      ],
      [{ stopTokenIds: 5 }, "stop_token_ids", /must be an array/],
    ];
    for (const [p, field, message] of cases) {
      const e = errorOf(p);
      expect(e.field, JSON.stringify(p)).toBe(field);
      expect(e.message, JSON.stringify(p)).toMatch(message);
      expect(e.message.startsWith(field.replace(/\[.*$/, ""))).toBe(true);
    }
  });

  it("rejects a vocabulary size that is not a positive integer (a caller bug, not a request error)", () => {
    expect(() => validateSamplingParams({}, 0)).toThrow(RangeError);
  });

  it("runs when a sampler is created", () => {
    expect(() => new SequenceSampler({ minP: -1 }, V)).toThrow(/min_p must be in \[0, 1\], got -1/);
  });
});
