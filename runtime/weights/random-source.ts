// Random weights for a model config, made in the backend's memory by gust_fill_random (no checkpoint on disk):
// the tensors a Hugging Face checkpoint of that config would hold, under the same names, dtypes and shapes, so the
// weight loader and the model code are the ones a real checkpoint runs through. FP8 linears (when the config
// declares FP8) with per-tensor scales that keep activations near unit size through every layer; bf16 rest.
import { type Backend, type DeviceBuffer, DType, type RandomFill } from "../../ffi/backend.ts";
import type { TextConfig } from "../config/text-config.ts";
import { hfScheme } from "./names.ts";
import { tensorIdOf } from "./random-fill.ts";
import { type SafetensorsDType, SafetensorsError, type TensorInfo } from "./safetensors.ts";
import type { TensorSource } from "./tensor-source.ts";

/** Root mean square of the e4m3 values gust_fill_random draws (magnitude codes 0x00..0x3F, equally likely). */
export const RANDOM_E4M3_RMS = Math.sqrt(
  Array.from({ length: 64 }, (_, c) => {
    const e = c >> 3, m = c & 7, v = e === 0 ? (m / 8) * 2 ** -6 : 2 ** (e - 7) * (1 + m / 8);
    return v * v;
  }).reduce((a, b) => a + b, 0) / 64,
);
/** Static activation scale of every random FP8 linear: inputs up to ±16 are stored unclipped (16 / 448 per unit);
 *  the linears' inputs are normed or attention/SwiGLU outputs, with a root mean square near 1. */
export const RANDOM_ACT_SCALE = 16 / 448;

interface RandomTensor {
  info: TensorInfo;
  fill?: RandomFill;
  value?: number;
}

const dtypeName: Record<number, SafetensorsDType> = { [DType.BF16]: "BF16", [DType.F8_E4M3]: "F8_E4M3" };

export class RandomSource implements TensorSource {
  readonly dir: string;
  readonly #tensors = new Map<string, RandomTensor>();
  #totalBytes = 0;

  /** `name` labels messages ("random:mistral-medium-3.5"); `seed` picks the weights. */
  constructor(name: string, readonly config: TextConfig, readonly seed = 1) {
    this.dir = `random:${name}`;
    const c = config, first = (names: string[]) => names[0];
    const vector = (n: string, len: number) => this.#add(n, DType.BF16, [len], 1, 1 / 8);
    const qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
    // uniform(−1, 1) has root mean square 1/√3: the embedding rows sit near 0.58, lm_head logits near unit size
    this.#add(first(hfScheme.embed), DType.BF16, [c.vocabSize, c.hiddenSize], 0, 1);
    for (let l = 0; l < c.numLayers; l++) {
      vector(first(hfScheme.norm(l, "attnNorm")), c.hiddenSize);
      vector(first(hfScheme.norm(l, "mlpNorm")), c.hiddenSize);
      const linears: [Parameters<typeof hfScheme.linear>[1], number, number][] = [
        ["q", qDim, c.hiddenSize],
        ["k", kvDim, c.hiddenSize],
        ["v", kvDim, c.hiddenSize],
        ["o", c.hiddenSize, qDim],
        ["gate", c.intermediateSize, c.hiddenSize],
        ["up", c.intermediateSize, c.hiddenSize],
        ["down", c.hiddenSize, c.intermediateSize],
      ];
      for (const [role, out, inp] of linears) this.#linear(first(hfScheme.linear(l, role)), out, inp);
    }
    vector(first(hfScheme.finalNorm), c.hiddenSize);
    this.#add(first(hfScheme.lmHead), DType.BF16, [c.vocabSize, c.hiddenSize], 0, Math.sqrt(3 / c.hiddenSize));
  }

  #add(name: string, dtype: DType, shape: number[], offset: number, scale: number): void {
    const count = shape.reduce((a, b) => a * b, 1), bytes = count * (dtype === DType.F8_E4M3 ? 1 : 2);
    const info = { name, dtype: dtypeName[dtype], shape, begin: 0, end: bytes, file: this.dir };
    const fill = { count, dtype, seed: this.seed, tensorId: tensorIdOf(name), firstIndex: 0, offset, scale };
    this.#tensors.set(name, { info, fill });
    this.#totalBytes += bytes;
  }

  #scalar(name: string, value: number): void {
    const info: TensorInfo = { name, dtype: "F32", shape: [], begin: 0, end: 4, file: this.dir };
    this.#tensors.set(name, { info, value });
  }

  /** y = x · Wᵀ · weightScale keeps |y| near |x|: weightScale = 1 / (rms of the codes · √inputs). */
  #linear(base: string, out: number, inp: number): void {
    if (!this.config.quantization) {
      this.#add(`${base}.weight`, DType.BF16, [out, inp], 0, Math.sqrt(3 / inp));
      return;
    }
    this.#add(`${base}.weight`, DType.F8_E4M3, [out, inp], 0, 0);
    this.#scalar(`${base}.${hfScheme.weightScale[0]}`, Math.fround(1 / (RANDOM_E4M3_RMS * Math.sqrt(inp))));
    this.#scalar(`${base}.${hfScheme.actScale[0]}`, Math.fround(RANDOM_ACT_SCALE));
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  names(): string[] {
    return [...this.#tensors.keys()];
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  #get(name: string): RandomTensor {
    const t = this.#tensors.get(name);
    if (!t) throw new SafetensorsError(this.dir, `tensor ${name} is not part of the random model`);
    return t;
  }

  info(name: string): TensorInfo {
    return this.#get(name).info;
  }

  scalar(name: string): number {
    const t = this.#get(name);
    if (t.value === undefined) throw new SafetensorsError(this.dir, `${name} is a tensor, not a scalar`);
    return t.value;
  }

  /** How gust_fill_random makes tensor `name` (a test writes the same bytes to a checkpoint with randomFillBytes). */
  fillOf(name: string): RandomFill {
    const t = this.#get(name);
    if (!t.fill) throw new SafetensorsError(this.dir, `${name} is a scalar (read it with scalar())`);
    return t.fill;
  }

  place(backend: Backend, name: string, prepare?: (bytes: Uint8Array) => Uint8Array): DeviceBuffer {
    if (prepare) {
      throw new SafetensorsError(
        this.dir,
        `${name}: random weights are made whole on the device and cannot be sliced for tensor parallelism; use TP 1`,
      );
    }
    const t = this.#get(name), buffer = backend.alloc(t.info.end);
    try {
      backend.fillRandom(buffer, this.fillOf(name));
    } catch (err) {
      buffer.dispose();
      throw err;
    }
    return buffer;
  }
}
