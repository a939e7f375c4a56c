// The arithmetic of `gust bench --random-model` against hand-computed Mistral Medium 3.5 numbers
// (docs/reference/performance-anchors.md §1, §3.1): bytes per decode step, the batch-1 roofline, prefill FLOPs per
// token, the layers that fit, and the linear scaling to all layers.
import { describe, expect, it } from "vitest";
import { randomModelConfig } from "../../runtime/bench/random-models.ts";
import {
  decoderBytes,
  decodeStepBytes,
  kvBytesPerTokenLayer,
  layersThatFit,
  prefillFlops,
  scaleToLayers,
} from "../../runtime/bench/random-model-ceilings.ts";

const medium = randomModelConfig("mistral-medium-3.5").text;

describe("random-model ceilings at Mistral Medium 3.5's shapes", () => {
  it("bytes a batch-1 step streams: 125.0 GB, so 38.4 tok/s at 4.8 TB/s", () => {
    const d = decoderBytes(medium);
    expect(d.perLayer).toBe(1_384_120_320 + 2 * 2 * 12288); // FP8 linears + two bf16 norms
    expect(d.held).toBe(2 * 131072 * 12288 * 2 + 2 * 12288);
    const bytes = decodeStepBytes(medium, 88, 1, 0, "fp8");
    expect(bytes).toBe(88 * d.perLayer + 131072 * 12288 * 2 + 2 * 12288);
    expect(bytes / 1e9).toBeCloseTo(125.03, 2);
    expect(4.8e12 / bytes).toBeCloseTo(38.39, 2);
    // KV: 2 · 8 · 128 B per token per layer in fp8; a batch of 32 at 1k context adds 88 · 32 · 1024 · 2 KiB
    expect(kvBytesPerTokenLayer(medium, "fp8")).toBe(2048);
    expect(decodeStepBytes(medium, 88, 32, 1024, "fp8") - decodeStepBytes(medium, 88, 32, 0, "fp8")).toBe(
      88 * 32 * 1024 * 2048,
    );
  });

  it("prefill FLOPs: 243.6 GFLOP of linears per token, attention 2 · T² · 96 · 128 per layer", () => {
    const f = prefillFlops(medium, 88, 1024);
    expect((f.linear - 2 * 131072 * 12288) / 1024 / 1e9).toBeCloseTo(243.6, 1);
    expect(f.attention).toBe(88 * 2 * 1024 * 1024 * 96 * 128);
  });

  it("layers that fit, and the scaling from L layers and a base run to all 88", () => {
    expect(layersThatFit(medium, 134e9, 1.1e9, 35_000, "fp8")).toBe(86);
    expect(layersThatFit(medium, 200e9, 1e9, 1000, "fp8")).toBe(88); // capped at the model's layers
    expect(layersThatFit(medium, 6e9, 0, 0, "fp8")).toBe(0); // the embedding and lm_head alone overflow
    expect(scaleToLayers(40, 4.8, 45, 1, 88)).toBeCloseTo(74.4, 10);
    expect(scaleToLayers(3, 1, 1, 0, 2)).toBe(5); // one layer ran: the base is a run with none
    expect(scaleToLayers(50, 4, 88, 1, 88)).toBe(50);
  });
});
