// Where each checkpoint tensor lives under tensor parallelism, found from safetensors headers alone (the
// data is never read). Names come from the loaders' own name schemes, so the planner counts exactly the
// tensors the runtime uploads; anything else in the files is reported as "not loaded".
import type { TextConfig } from "../config/text-config.ts";
import type { VisionConfig } from "../vision/vision-config.ts";
import { hfVisionScheme, nativeVisionScheme } from "../vision/vision-names.ts";
import type { Checkpoint } from "../weights/checkpoint.ts";
import { type LinearRole, type NameScheme } from "../weights/names.ts";
import { SafetensorsError, type TensorInfo } from "../weights/safetensors.ts";

/**
 * replicated: every rank holds it. rows/columns: split along dim 0/1 by the layout part named.
 * visionRank: the vision tower and projector, held by rank 0 only (VISION_RANK in memory-plan.ts).
 * host: read into a number at load (FP8 scales), never uploaded.
 */
export type Placement =
  | { kind: "replicated" }
  | { kind: "host" }
  | { kind: "rows"; part: "q" | "kv" | "ffn" | "vocab" }
  | { kind: "columns"; part: "q" | "ffn" }
  | { kind: "visionRank" };

export interface PlacedTensor {
  name: string;
  bytes: number;
  shape: number[];
  placement: Placement;
}

const linearPlacement: Record<LinearRole, Placement> = {
  q: { kind: "rows", part: "q" },
  k: { kind: "rows", part: "kv" },
  v: { kind: "rows", part: "kv" },
  o: { kind: "columns", part: "q" },
  gate: { kind: "rows", part: "ffn" },
  up: { kind: "rows", part: "ffn" },
  down: { kind: "columns", part: "ffn" },
};
const linearRoles = Object.keys(linearPlacement) as LinearRole[];

/** Collects placed tensors from one checkpoint, refusing missing or misshapen ones as the loader would. */
export class PlacementCollector {
  readonly placed: PlacedTensor[] = [];
  readonly #claimed = new Set<string>();

  constructor(readonly ckpt: Checkpoint) {}

  #info(candidates: string[], what: string): TensorInfo {
    const hit = candidates.find((n) => this.ckpt.has(n));
    if (!hit) {
      throw new SafetensorsError(
        this.ckpt.dir,
        `${what} is missing: none of ${candidates.join(", ")} is in the checkpoint`,
      );
    }
    return this.ckpt.info(hit);
  }

  add(candidates: string[], what: string, placement: Placement, shape?: number[]): void {
    const info = this.#info(candidates, what);
    if (shape && info.shape.join(",") !== shape.join(",")) {
      throw new SafetensorsError(info.file, `${info.name} has shape [${info.shape}] but the config implies [${shape}]`);
    }
    this.#push(info, placement);
  }

  /** Scale tensors beside an FP8 weight (`base.weight_scale_inv`, …): scalars the loader reads on the host. */
  addScales(base: string, suffixes: string[]): void {
    for (const s of suffixes) {
      const name = `${base}.${s}`;
      if (this.ckpt.has(name)) this.#push(this.ckpt.info(name), { kind: "host" });
    }
  }

  #push(info: TensorInfo, placement: Placement): void {
    if (this.#claimed.has(info.name)) return;
    this.#claimed.add(info.name);
    this.placed.push({ name: info.name, bytes: info.end - info.begin, shape: info.shape, placement });
  }

  /** Tensors of the files that no loader reads. */
  unclaimed(): { count: number; bytes: number } {
    let count = 0, bytes = 0;
    for (const name of this.ckpt.names()) {
      if (this.#claimed.has(name)) continue;
      const info = this.ckpt.info(name);
      count++;
      bytes += info.end - info.begin;
    }
    return { count, bytes };
  }
}

export interface DecoderParts {
  embedding: boolean;
  lmHead: boolean;
}

/** The decoder's tensors (and, for an EAGLE draft, no embedding or lm_head: it borrows the target's). */
export function placeDecoder(col: PlacementCollector, scheme: NameScheme, c: TextConfig, parts: DecoderParts): void {
  const C = c.hiddenSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
  const shapes: Record<LinearRole, number[]> = {
    q: [qDim, C],
    k: [kvDim, C],
    v: [kvDim, C],
    o: [C, qDim],
    gate: [c.intermediateSize, C],
    up: [c.intermediateSize, C],
    down: [C, c.intermediateSize],
  };
  if (parts.embedding) col.add(scheme.embed, "the token embedding", { kind: "replicated" }, [c.vocabSize, C]);
  for (let l = 0; l < c.numLayers; l++) {
    for (const role of ["attnNorm", "mlpNorm"] as const) {
      col.add(scheme.norm(l, role), `layer ${l} ${role}`, { kind: "replicated" }, [C]);
    }
    for (const role of linearRoles) {
      const bases = scheme.linear(l, role);
      col.add(bases.map((b) => `${b}.weight`), `layer ${l} ${role} weight`, linearPlacement[role], shapes[role]);
      for (const base of bases) col.addScales(base, [...scheme.weightScale, ...scheme.actScale]);
    }
  }
  col.add(scheme.finalNorm, "the final norm", { kind: "replicated" }, [C]);
  const hasHead = scheme.lmHead.some((n) => col.ckpt.has(n));
  if (parts.lmHead && (hasHead || !c.tieWordEmbeddings)) {
    col.add(scheme.lmHead, "the lm_head", { kind: "rows", part: "vocab" }, [c.vocabSize, C]);
  }
}

/** The vision tower and the multimodal projector (all on the vision rank). */
export function placeVision(col: PlacementCollector, v: VisionConfig): void {
  const scheme = v.layout === "hf" ? hfVisionScheme : nativeVisionScheme;
  const at: Placement = { kind: "visionRank" };
  col.add(scheme.patchConv, "the patch convolution", at);
  col.add(scheme.lnPre, "ln_pre", at);
  for (let l = 0; l < v.numLayers; l++) {
    for (const role of linearRoles) col.add(scheme.linear(l, role).map((b) => `${b}.weight`), `vision ${role}`, at);
    for (const role of ["attnNorm", "ffnNorm"] as const) col.add(scheme.norm(l, role), `vision ${role}`, at);
  }
  col.add(scheme.projectorNorm, "the projector norm", at);
  for (const bases of [scheme.merging, scheme.linear1, scheme.linear2]) {
    col.add(bases.map((b) => `${b}.weight`), "a projector linear", at);
  }
}

/** EAGLE's eagle_linear [C, 2C]: small next to the layers, so every rank keeps a whole copy. */
export function placeEagleLinear(col: PlacementCollector, c: TextConfig): void {
  const names = ["eagle_linear.weight", "fc.weight", "model.fc.weight"];
  col.add(names, "eagle_linear.weight (the EAGLE draft's fc)", { kind: "replicated" }, [
    c.hiddenSize,
    2 * c.hiddenSize,
  ]);
  for (const n of names) col.addScales(n.slice(0, -".weight".length), ["qscale_weight", "qscale_act"]);
}
