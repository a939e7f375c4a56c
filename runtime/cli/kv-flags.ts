// `--kv-cache-dtype auto|f32|bf16|fp8` (vLLM's flag): how the KV cache stores K and V. `auto` is bf16 on every
// backend (half of f32's memory; FP8 halves it again, with per-layer scales calibrated at start).
import { type KvCacheDtype, kvCacheDtypeChoices, resolveKvCacheDtype } from "../model/kv-cache.ts";
import { UsageError } from "./usage-error.ts";

export const kvCacheDtypeUsage = kvCacheDtypeChoices.join("|");

export function parseKvCacheDtypeFlag(raw: string | undefined): KvCacheDtype {
  const value = raw ?? "auto";
  const choice = kvCacheDtypeChoices.find((c) => c === value);
  if (!choice) throw new UsageError(`--kv-cache-dtype must be one of ${kvCacheDtypeChoices.join(", ")}, got "${raw}"`);
  return resolveKvCacheDtype(choice);
}
