// `--tensor-parallel N` (alias `--tp`), shared by `gust runtime`, `gust dev`, `gust run` and `gust bench`.
import { parseIntArg, UsageError } from "./usage-error.ts";

export const tensorParallelOptions = {
  "tensor-parallel": { type: "string" },
  tp: { type: "string" },
} as const;

export const tensorParallelUsage = "[--tensor-parallel N | --tp N]";

/** The rank count (default 1). */
export function parseTensorParallel(values: { "tensor-parallel"?: string; tp?: string }): number {
  if (values["tensor-parallel"] !== undefined && values.tp !== undefined) {
    throw new UsageError("give --tensor-parallel or its alias --tp, not both");
  }
  const raw = values["tensor-parallel"] ?? values.tp;
  return raw === undefined ? 1 : parseIntArg("tensor-parallel", raw, 1, 1);
}
