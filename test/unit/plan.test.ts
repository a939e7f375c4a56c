// `gust plan` on a header-only stand-in with Mistral Medium 3.5's real tensor shapes, against numbers
// computed by hand below (issue 30, planner acceptance). GiB = 2^30 bytes; the budget is 0.9 × memory.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { loadModelConfig } from "../../runtime/config/load-config.ts";
import { KvCache } from "../../runtime/model/kv-cache.ts";
import { grownCapacity, textWorkspaceBytes, Workspace } from "../../runtime/model/workspace.ts";
import { rankSlices, shardLayout, validTpSizes } from "../../runtime/parallel/layout.ts";
import { defaultPlanOptions, planMemory, type PlanOptions } from "../../runtime/plan/memory-plan.ts";
import { readPlanInputs } from "../../runtime/plan/plan-inputs.ts";
import { alternatives } from "../../runtime/plan/plan-report.ts";
import { openCheckpoint } from "../../runtime/weights/checkpoint.ts";
import { loadTextWeights } from "../../runtime/weights/load-text.ts";
import { hfScheme, nativeScheme } from "../../runtime/weights/names.ts";
import { SafetensorsFile } from "../../runtime/weights/safetensors.ts";
import { countingBackend } from "../helpers/counting-backend.ts";
import { fixtureDir } from "../helpers/fixtures.ts";
import { writeEagleStandIn, writeMediumStandIn } from "../helpers/medium-standin.ts";

const GiB = 2 ** 30;
const scratch = mkdtempSync(join(tmpdir(), "gust-plan-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const mediumDir = join(scratch, "medium"), eagleDir = join(scratch, "eagle");
writeMediumStandIn(mediumDir);
writeEagleStandIn(eagleDir);
const inputs = readPlanInputs(mediumDir);
const options = (tpSize: number, gib: number, extra: Partial<PlanOptions> = {}): PlanOptions => ({
  ...defaultPlanOptions,
  tpSize,
  gpuMemoryBytes: gib * GiB,
  ...extra,
});

// ---- hand arithmetic (C 12288, F 28672, V 131072, 88 layers, 96/8 heads × 128) ----
// FP8 linears per layer: q, o 12288² + k, v 1024·12288 + gate, up, down 28672·12288 = 1,384,120,320 B; × 88:
const FP8 = 121_802_588_160; // = model-spec §5.1's FP8 parameter count
const EMBED = 131072 * 12288 * 2; // 3,221,225,472 B bf16; lm_head the same
const NORMS = (2 * 88 + 1) * 12288 * 2; // 4,349,952 B
const SCALES = 88 * 7 * 2 * 4; // 1,232 f32 scalars = 4,928 B, read on the host: on no rank
// vision: patch_conv 1664·588 + ln_pre 1664 + 48 × (4·1664² + 3·8192·1664 + 2·1664)
//       + projector 1664 + 1664·6656 + 12288·1664 + 12288² = 2,678,221,568 bf16 values
const VISION = 5_356_443_136;
const TOTAL = FP8 + 2 * EMBED + NORMS + SCALES + VISION; // 133,605,837,120 B = 124.43 GiB
const ROPE = 262144 * 64 * 4 * 2; // cos + sin, f32, [max-model-len, head_dim / 2]: 134,217,728 B
const VISION_ROPE = 110 * 110 * 52 * 4 * 2; // 5,033,600 B
// the most one vision-tower call holds (runtime/vision/vision-memory.ts): one 1540² image = 12,100 patches,
// 3,025 merged rows, the MLP and projector in chunks of 1,024 rows:
//   12,100 × (4·(588 + 6·1664) + 2·4)   pixels | x, normed, q, k, v, attn | positions, merge order  511,781,600
// + 3,026 × 4                           segment starts                                                  12,104
// + 2 · 1,024 × 8192 × 4                gate, up                                                    67,108,864
// + 3,025 × 1664 × 4                    merged                                                      20,134,400
// + 2 · 1,024 × 12288 × 4               linear_1 / linear_2 outputs                                100,663,296
// (whole rows at once it was 1,622,271,200 B: gate/up over all 12,100 patches and hidden/out over all 3,025 rows)
const VISION_WORKSPACE = 511_781_600 + 12_104 + 67_108_864 + 20_134_400 + 100_663_296; // 699,700,264 B
// step of 2048 tokens: 2048 × (4·(3C + 2·q + 2·kv + 2·F/N) + 12) + 64 rows × (4·(2C + V) + 4), and under TP the
// logits gather: 64 rows × 4·(V/N)·(1 + N); scratch 2048 × the widest FP8 input
const textWs = (n: number, rows = 64) =>
  2048 * (4 * (3 * 12288 + (2 * 96 * 128) / n + (2 * 8 * 128) / n + (2 * 28672) / n) + 12) +
  rows * (4 * (2 * 12288 + 131072) + 4) + (n > 1 ? rows * 4 * (131072 / n) * (1 + n) : 0);
const scratchWs = (n: number) => 2048 * Math.max(12288, 28672 / n);
const BUDGET_80 = 77_309_411_328; // 0.9 × 80 GiB

describe("gust plan: Mistral Medium 3.5 FP8 from headers only", () => {
  it("the stand-in holds headers and no data; the planner never reads beyond them", () => {
    const shard = join(mediumDir, "model-00002-of-00002.safetensors");
    expect(statSync(shard).size).toBeLessThan(1 << 20);
    expect(() => new SafetensorsFile(shard)).toThrow(/truncated/); // a loader that wanted the data would fail
    const headerOnly = new SafetensorsFile(shard, { headerOnly: true });
    const info = headerOnly.tensors.get("lm_head.weight")!;
    expect(() => headerOnly.bytes(info)).toThrow(/opened for its header only/);
    expect(inputs.tensors.reduce((a, t) => a + t.bytes, 0)).toBe(TOTAL);
  });

  it("does not fit one 80 GB GPU, and says TP 2 would", () => {
    const plan = planMemory(inputs, options(1, 80));
    expect(plan.fits).toBe(false);
    expect(plan.ranks[0].weightBytes).toBe(TOTAL - SCALES);
    expect(plan.reason).toBe(
      "rank 0 needs 124.43 GiB for its weights alone; its budget is 72.00 GiB (0.9 × 80.00 GiB)",
    );
    const found = alternatives(inputs, options(1, 80));
    expect(found.map((a) => a.change)).toEqual(["--gpus 2", "--gpus 4", "--gpus 8"]);
  });

  it.each([
    // rank 0 = replicated + 1/N of lm_head and FP8 + the vision tower; other ranks without it
    { n: 2, kvPerToken: 2 * 88 * 4 * 128 * 2, rank0Tokens: 29_456, rank1Tokens: 59_216, context: 29_456 },
    { n: 4, kvPerToken: 2 * 88 * 2 * 128 * 2, rank0Tokens: 406_240, rank1Tokens: 467_328, context: 262_144 },
    { n: 8, kvPerToken: 2 * 88 * 1 * 128 * 2, rank0Tokens: 1_159_328, rank1Tokens: 1_283_520, context: 262_144 },
  ])("fits TP $n on 80 GB GPUs with the context it leaves", ({ n, kvPerToken, rank0Tokens, rank1Tokens, context }) => {
    const plan = planMemory(inputs, options(n, 80));
    expect(plan.fits).toBe(true);
    const follower = EMBED + NORMS + (EMBED + FP8) / n;
    const [r0, r1] = plan.ranks;
    expect(r1.weightBytes).toBe(follower);
    expect(r0.weightBytes).toBe(follower + VISION);
    expect(r0.fixedBytes).toBe(ROPE + VISION_ROPE);
    expect(r1.workspace.total).toBe(textWs(n) + scratchWs(n));
    // the vision-tower call runs between steps in the freed step buffers: the larger of the two counts
    // (TP 2: the step's 736,125,184 B; TP 4 and 8: the tower's 699,700,264 B)
    expect(r0.workspace.total).toBe(scratchWs(n) + Math.max(textWs(n), VISION_WORKSPACE));
    expect(r0.kvBytesPerToken).toBe(kvPerToken); // bf16 (auto)
    // tokens = ⌊free / (16 · KV per token)⌋ · 16
    const free0 = BUDGET_80 - r0.weightBytes - ROPE - VISION_ROPE - r0.workspace.total;
    expect(Math.floor(free0 / (16 * kvPerToken)) * 16).toBe(rank0Tokens);
    expect(r0.poolTokens).toBe(rank0Tokens);
    expect(r1.poolTokens).toBe(rank1Tokens);
    expect(plan.poolTokens).toBe(rank0Tokens);
    expect(plan.contextTokens).toBe(context);
  });

  it("one 141 GB H200 fits with the vision tower at 0.9: 3,936 tokens (one 1540² image is 3,080); text-only 18,816", () => {
    // budget ⌊0.9 × 141 GiB⌋ = 136,257,837,465 B
    // weights 133,605,832,192 (all but the host-side scales) + tables 134,217,728 + 5,033,600
    // + workspace: FP8 scratch 2048 × 28672 = 58,720,256 + the larger of the step 1,029,726,464 and one
    //   vision-tower call 699,700,264 (they take turns) = 1,088,446,720
    // = 134,833,530,240 B → 1,424,307,225 B free / (16 × 360,448 B per block) = 246 blocks = 3,936 tokens
    // (before session 19: the step and a whole-rows tower call both counted, 1,622,271,200 B: 0.18 GiB short)
    const withVision = planMemory(inputs, options(1, 141));
    expect(withVision.fits).toBe(true);
    expect(withVision.ranks[0].workspace).toEqual({
      text: 1_029_726_464,
      scratch: 58_720_256,
      draft: 0,
      vision: VISION_WORKSPACE,
      total: 58_720_256 + 1_029_726_464,
    });
    expect(withVision.ranks[0].freeBytes).toBe(1_424_307_225);
    expect(withVision.contextTokens).toBe(3_936);
    // text-only: 128,249,389,056 B of weights, 134,217,728 B of tables, 1,088,446,720 B of workspace
    // → 6,785,783,961 B free / (16 × 360,448 B) = 1,176 blocks = 18,816 tokens
    const textOnly = planMemory(inputs, options(1, 141, { textOnly: true }));
    expect(textOnly.fits).toBe(true);
    expect(textOnly.ranks[0].freeBytes).toBe(6_785_783_961);
    expect(textOnly.contextTokens).toBe(18_816);
    // FP8 KV halves the bytes per token: 2 × 1,176 blocks
    expect(planMemory(inputs, options(1, 141, { textOnly: true, kvCacheDtype: "fp8" })).contextTokens).toBe(37_648);
    // at 0.95: ⌊0.95 × 141 GiB⌋ − 134,833,530,240 = 8,994,187,084 B → 1,559 blocks = 24,944 tokens
    expect(planMemory(inputs, options(1, 141, { utilization: 0.95 })).contextTokens).toBe(24_944);
  });

  it("--max-model-len longer than the pool does not fit, and names the length that would", () => {
    // tables of 65,536 positions free 100,663,296 B on rank 0: 5,411,412,608 B / (16 × 180,224 B) = 1,876 blocks
    const plan = planMemory(inputs, options(2, 80, { maxModelLen: 65536 }));
    expect(plan.fits).toBe(false);
    expect(plan.reason).toBe("the KV pool holds 30016 tokens, fewer than --max-model-len 65536");
    expect(alternatives(inputs, options(2, 80, { maxModelLen: 65536 })).map((a) => a.change)).toContain(
      "--max-model-len 30016",
    );
    // a shorter context also shrinks the RoPE tables: 32,768 × 64 × 8 B
    expect(planMemory(inputs, options(2, 80, { maxModelLen: 32768 })).ranks[1].fixedBytes).toBe(32768 * 64 * 8);
  });

  it("the EAGLE draft adds its two layers (sharded), its KV and its workspace", () => {
    const withDraft = readPlanInputs(mediumDir, eagleDir);
    const plan = planMemory(withDraft, options(4, 80));
    // 2 FP8 layers / 4 + eagle_linear [12288, 24576] bf16 (replicated) + 5 norms
    const draftBytes = (2 * 1_384_120_320) / 4 + 12288 * 24576 * 2 + 5 * 12288 * 2;
    expect(plan.ranks[1].weightBytes).toBe(EMBED + NORMS + (EMBED + FP8) / 4 + draftBytes);
    expect(plan.ranks[1].kvBytesPerToken).toBe(2 * 90 * 2 * 128 * 2);
    // with a draft a step may verify up to 16 sequences × (16 drafts + 1) = 272 logits rows (eagle/rounds.ts), so
    // the target's and the draft's workspaces count 272 rows, not 64
    expect(plan.ranks[1].workspace.text).toBe(textWs(4, 272));
    expect(plan.ranks[1].workspace.draft).toBe(textWs(4, 272) + 3 * 2048 * 12288 * 4);
    expect(plan.fits).toBe(true);
  });
});

describe("the accounting matches what the runtime allocates", () => {
  it("Workspace's buffers at a step of T tokens and R rows are textWorkspaceBytes", () => {
    const config = loadModelConfig(fixtureDir("tiny-mistral3")).text;
    const { counting, bytes } = countingBackend(createBackend("cpu"));
    const ws = new Workspace(counting, config);
    ws.ensure(100, 7);
    expect(bytes.live).toBe(textWorkspaceBytes(config, shardLayout(config, 1), 100, 7));
    ws.dispose();
    expect(bytes.live).toBe(0);
  });

  it("Workspace stops growing at the step caps, so uneven steps hold exactly the planned bytes", () => {
    const config = loadModelConfig(fixtureDir("tiny-mistral3")).text, layout = shardLayout(config, 1);
    const { counting, bytes } = countingBackend(createBackend("cpu"));
    const planned = textWorkspaceBytes(config, layout, 100, 7); // caps: 100 tokens, 7 rows
    const capped = new Workspace(counting, config, { maxTokens: 100, maxRows: 7 });
    // 60 tokens / 3 rows, then 70 / 5: doubling would make 120 / 8 (see below); the caps stop it at 100 / 7
    capped.ensure(60, 3);
    capped.ensure(70, 5);
    expect([capped.tokenCapacity, capped.rowCapacity]).toEqual([100, 7]);
    expect(bytes.live).toBe(planned);
    capped.ensure(100, 7); // at the caps: nothing new
    expect(bytes.live).toBe(planned);
    capped.dispose();
    // without caps the same steps hold more than the plan counts
    const free = new Workspace(counting, config);
    free.ensure(60, 3);
    free.ensure(70, 5);
    expect([free.tokenCapacity, free.rowCapacity]).toEqual([120, 8]);
    expect(bytes.live).toBe(textWorkspaceBytes(config, layout, 120, 8));
    free.dispose();
    // one step above its cap (a caller that sizes its own steps) gets exactly what it needs
    expect(grownCapacity(150, 100, 16, 100)).toBe(150);
    expect(grownCapacity(1400, 1300, 16, 2048)).toBe(2048);
    expect(grownCapacity(5, 0, 16, 2048)).toBe(16);
  });

  it.each(["tiny-mistral3-fp8", "tiny-mistral3-native", "odd-bf16", "odd-native-fp8"])(
    "%s: each rank's weight bytes are what the sharded loader uploads, at every TP size up to 8",
    (name) => {
      const dir = fixtureDir(name);
      const model = loadModelConfig(dir);
      const fixture = readPlanInputs(dir);
      const backend = createBackend("cpu");
      const sizes = validTpSizes(model.text, 8);
      expect(sizes.length).toBeGreaterThan(1);
      for (const n of sizes) {
        const plan = planMemory(fixture, options(n, 1, { textOnly: true }));
        const layout = shardLayout(model.text, n);
        for (let rank = 0; rank < n; rank++) {
          const ckpt = openCheckpoint(dir, model.layout);
          const scheme = model.layout === "hf" ? hfScheme : nativeScheme;
          const slices = rankSlices(model.text, layout, rank);
          const w = loadTextWeights(backend, ckpt, scheme, model.text, undefined, undefined, slices);
          const refs = [w.embed, w.lmHead, w.finalNorm, ...w.layers.flatMap((l) => Object.values(l))];
          const uploaded = [...new Set(refs.map((r) => r.buffer))].reduce((a, b) => a + b.byteLength, 0);
          expect(uploaded, `TP ${n} rank ${rank}`).toBe(plan.ranks[rank].weightBytes);
          w.dispose();
        }
      }
    },
  );

  it("f32 KV bytes per token are KvCache's bytes per block over the block size", () => {
    const model = loadModelConfig(fixtureDir("tiny-mistral3"));
    const fixture = readPlanInputs(fixtureDir("tiny-mistral3"));
    const plan = planMemory(fixture, options(1, 1, { kvCacheDtype: "f32" }));
    expect(plan.ranks[0].kvBytesPerToken).toBe(KvCache.bytesPerBlock(model.text, 16) / 16);
  });
});
