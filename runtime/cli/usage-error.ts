// Flag parsing helpers. UsageError (a mistake in how a command was called: printed without a stack
// trace, exit status 2) lives in the text layer so `gust tokenize` and the other commands share it.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../text/errors.ts";
export { UsageError };

/** A command's flags (strict: an unknown flag or a missing value is a UsageError that ends with the usage). */
export function parseFlags<const T extends ParseArgsOptionsConfig>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

export function parseIntArg(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${raw}"`);
  return v;
}

export function parseFloatArg(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got "${raw}"`);
  return v;
}

/** "1,2,3" → [1, 2, 3]; anything that is not a list of non-negative integers is a usage error. */
export function parseIdList(raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UsageError("--ids needs a comma-separated list of token ids, e.g. --ids 1,22,333");
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--ids: "${p}" is not a non-negative integer token id`);
    return Number(p);
  });
}
