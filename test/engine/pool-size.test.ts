// KV pool sizing from what the device reports: the GPU rule (--gpu-memory-utilization of the total, less what is in
// use and the workspace), the CPU rule (a share of available memory), the cap at what the sequences can use, the
// per-dtype block size, and a refusal that says what to change.
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import type { TextConfig } from "../../runtime/config/text-config.ts";
import { choosePoolSize } from "../../runtime/engine/pool-size.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { textWorkspaceBytes } from "../../runtime/model/workspace.ts";
import { shardLayout } from "../../runtime/parallel/layout.ts";
import { rankWorkspace } from "../../runtime/plan/memory-plan.ts";
import { maxLogitRows } from "../../runtime/eagle/rounds.ts";
import { ModelHost } from "../../runtime/server/model-host.ts";
import { fixtureModel } from "../helpers/engine.ts";
import { fixtureDir } from "../helpers/fixtures.ts";

const GiB = 2 ** 30;
const config = { ...fixtureModel("tiny-mistral3").config.text } as TextConfig;

describe("KV pool size", () => {
  it("on a GPU takes utilisation × total, less what is in use and the workspace", () => {
    const memory = { freeBytes: 16 * GiB, totalBytes: 141 * GiB, gpu: true };
    const base = { blockSize: 16, maxNumSeqs: 1e6, maxModelLen: 1e6, memory, kvCacheDtype: "bf16" as const };
    const p = choosePoolSize(config, { ...base, gpuMemoryUtilization: 0.9, workspaceBytes: GiB / 4 });
    const budget = 16 * GiB - 141 * GiB * 0.1 - GiB / 4; // 1.65 GiB
    expect(p.budgetBytes).toBeCloseTo(budget, 0);
    expect(p.numBlocks).toBe(Math.floor(budget / KvCache.bytesPerBlock(config, 16, "bf16")));
    const fp8 = choosePoolSize(config, {
      ...base,
      gpuMemoryUtilization: 0.9,
      workspaceBytes: GiB / 4,
      kvCacheDtype: "fp8",
    });
    expect(fp8.numBlocks).toBe(Math.floor(budget / KvCache.bytesPerBlock(config, 16, "fp8")));
    expect(fp8.numBlocks).toBeGreaterThan(1.99 * p.numBlocks); // FP8 halves bf16's bytes per token
    expect(() => choosePoolSize(config, { ...base, gpuMemoryUtilization: 0.85 })).toThrow(
      /the GPU has 16.00 GiB free of 141.00 GiB and --gpu-memory-utilization 0.85 leaves 0.00 GiB; raise it/,
    );
  });

  it("on the CPU takes a share of available memory, capped at what the sequences can use", () => {
    const memory = { freeBytes: 8 * GiB, totalBytes: 16 * GiB, gpu: false };
    const roomy = choosePoolSize(config, { blockSize: 16, maxNumSeqs: 64, maxModelLen: 256, memory });
    expect(roomy.numBlocks).toBe((64 * 256) / 16);
    const tight = choosePoolSize(config, {
      blockSize: 16,
      maxNumSeqs: 1e6,
      maxModelLen: 1e6,
      memory,
      memoryFraction: 0.25,
      kvCacheDtype: "bf16",
    });
    expect(tight.numBlocks).toBe(Math.floor((2 * GiB) / KvCache.bytesPerBlock(config, 16, "bf16")));
    expect(KvCache.bytesPerToken(config, "f32")).toBe(2 * KvCache.bytesPerToken(config, "bf16"));
  });

  it("keeps a step's activations out of the pool (the real model: about 1 GiB at 2048 tokens)", () => {
    const real = {
      ...config,
      hiddenSize: 12288,
      numHeads: 96,
      numKvHeads: 8,
      headDim: 128,
      intermediateSize: 28672,
      vocabSize: 131072,
    } as TextConfig;
    // the runtime reserves rankWorkspace, the count `gust plan` makes (runtime/server/model-host.ts)
    const caps = { maxTokens: 2048, maxRows: 64 }, layout = shardLayout(real, 1);
    const bytes = rankWorkspace(real, layout, caps, null, null).total;
    expect(bytes).toBe(textWorkspaceBytes(real, layout, 2048, 64)); // bf16 weights: no FP8 scratch, no draft, no vision
    expect(bytes).toBe(1_029_726_464); // test/unit/plan.test.ts has the arithmetic
    expect(KvCache.bytesPerToken({ ...real, numLayers: 88 }, "bf16")).toBe(360_448); // 352 KiB (model-spec)
    expect(KvCache.bytesPerToken({ ...real, numLayers: 88 }, "fp8")).toBe(180_224); // 176 KiB
  });

  it("reads the memory the CPU backend reports", () => {
    const m = createBackend("cpu").memoryInfo();
    expect(m.totalBytes).toBeGreaterThan(0);
    expect(m.freeBytes).toBeGreaterThan(0);
    expect(m.freeBytes).toBeLessThanOrEqual(m.totalBytes);
  });
});

describe("the step caps the runtime's workspace stops at (what gust plan counts)", () => {
  it("are --max-batched-tokens and --max-num-seqs, and the verify rows when a draft is loaded", async () => {
    const backend = createBackend("cpu");
    const plain = await ModelHost.open(backend, { modelDir: fixtureDir("tiny-mistral3-fp8"), numBlocks: 16 });
    try {
      expect(plain.loaded.model.stepCaps).toEqual({ maxTokens: 2048, maxRows: 64 });
    } finally {
      plain.dispose();
    }
    const withDraft = await ModelHost.open(backend, {
      modelDir: fixtureDir("tiny-mistral3-fp8"),
      draftDir: fixtureDir("tiny-mistral3-eagle"),
      numBlocks: 16,
      maxBatchedTokens: 512,
      maxNumSeqs: 8,
    });
    try {
      // 16 speculating sequences × (16 drafts + 1) rows = 272 > 8 sequences
      expect(withDraft.loaded.model.stepCaps).toEqual({ maxTokens: 512, maxRows: maxLogitRows(8, 16) });
      expect(maxLogitRows(8, 16)).toBe(272);
      expect(withDraft.draft!.model.stepCaps).toEqual(withDraft.loaded.model.stepCaps);
    } finally {
      withDraft.dispose();
    }
  });
});
