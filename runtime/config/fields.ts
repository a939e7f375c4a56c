// Small readers for JSON config fields that name the file and the field path in every error.
import { ConfigError } from "./text-config.ts";

export type Json = Record<string, unknown>;

export class FieldReader {
  readonly problems: string[] = [];
  constructor(readonly source: string) {}

  #get(obj: Json, path: string): unknown {
    const key = path.split(".").pop()!;
    return obj[key];
  }

  /** A required positive integer. */
  positiveInt(obj: Json, path: string): number {
    const v = this.#get(obj, path);
    if (v === undefined || v === null) this.problems.push(`${path} is missing (expected a positive integer)`);
    else if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      this.problems.push(`${path} is ${JSON.stringify(v)} (expected a positive integer)`);
    } else return v;
    return 1;
  }

  /** A required finite number, optionally strictly positive. */
  number(obj: Json, path: string, opts: { positive?: boolean; fallback?: number } = {}): number {
    const v = this.#get(obj, path);
    if ((v === undefined || v === null) && opts.fallback !== undefined) return opts.fallback;
    if (v === undefined || v === null) this.problems.push(`${path} is missing (expected a number)`);
    else if (typeof v !== "number" || !Number.isFinite(v) || (opts.positive && v <= 0)) {
      this.problems.push(
        `${path} is ${JSON.stringify(v)} (expected a ${opts.positive ? "positive " : ""}finite number)`,
      );
    } else return v;
    return 1;
  }

  optionalInt(obj: Json, path: string, fallback: number): number {
    const v = this.#get(obj, path);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      this.problems.push(`${path} is ${JSON.stringify(v)} (expected a non-negative integer)`);
      return fallback;
    }
    return v;
  }

  bool(obj: Json, path: string, fallback: boolean): boolean {
    const v = this.#get(obj, path);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") {
      this.problems.push(`${path} is ${JSON.stringify(v)} (expected true or false)`);
      return fallback;
    }
    return v;
  }

  object(obj: Json, path: string, required: boolean): Json | null {
    const v = this.#get(obj, path);
    if (v === undefined || v === null) {
      if (required) this.problems.push(`${path} is missing (expected an object)`);
      return null;
    }
    if (typeof v !== "object" || Array.isArray(v)) {
      this.problems.push(`${path} is ${JSON.stringify(v)} (expected an object)`);
      return null;
    }
    return v as Json;
  }

  /** Only `allowed` values are supported; anything else is reported with the list. */
  oneOf<T>(obj: Json, path: string, allowed: readonly T[], fallback?: T): T {
    const v = this.#get(obj, path) as T;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (!allowed.includes(v)) {
      this.problems.push(
        `${path} is ${JSON.stringify(v)}; gust supports ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
      );
      return allowed[0];
    }
    return v;
  }

  /** Fields not in `known` change the model in ways gust does not implement: name them. */
  unknownKeys(obj: Json, prefix: string, known: ReadonlySet<string>): void {
    const unknown = Object.keys(obj).filter((k) => !known.has(k));
    if (unknown.length > 0) {
      this.problems.push(
        `${prefix || "top level"} has fields gust does not know: ${unknown.join(", ")} ` +
          `(if they do not change the model's math, add them to the known list in runtime/config)`,
      );
    }
  }

  throwIfAny(): void {
    if (this.problems.length > 0) throw new ConfigError(this.source, this.problems);
  }
}
