// Deployed functions: versions kept on disk, one active version per name, swapped atomically. A request
// holds the app object it started with, so in-flight requests finish on the old version while new ones
// reach the new one. A bundle that fails to load (syntax error, throws at import, an import that does not settle
// in time, wrong default export) is rejected, kept aside as v<N>.failed.mjs, and the active version keeps serving.
// Files are written crash-safe (temporary file, fsync, rename), so a gateway killed mid-deploy leaves either no
// new version or a whole one; a version that cannot load anyway is skipped (and logged) by rollback and at start.
//
// Layout: <stateDir>/<name>/v<N>.mjs and <stateDir>/<name>/active (the active version number).
import { joinPath } from "../../runtime/text/io.ts";
import { type FunctionDefinition, isFunctionDefinition } from "../../functions/sdk/define-function.ts";

import { FUNCTION_NAME_RE } from "../functions-mount.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { writeDurable } from "./durable-write.ts";

/** The one rule for function names, shared with the gateway's /fn/<name> router. */
export const FUNCTION_NAME = FUNCTION_NAME_RE;

export interface DeployedFunction {
  name: string;
  version: number;
  definition: FunctionDefinition;
  deployedAt: string;
  /** Called when another version takes this one's place (an isolate stops once its requests are over). */
  retire?: () => void;
  /** Stops it now (the gateway is shutting down). */
  stop?: () => void;
}

/** Loads one stored version: in this process (`importLoader`, for tests of the registry itself) or in an isolate of
 * its own (edge/isolate/loader.ts, what the gateway uses). Throws with a message saying why it cannot load. */
export type VersionLoader = (
  name: string,
  version: number,
  file: string,
  timeoutMs: number,
) => Promise<{ definition: FunctionDefinition; retire?: () => void; stop?: () => void }>;

export class DeployError extends Error {
  override name = "DeployError";
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export function checkFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new DeployError(
      `Function name ${
        JSON.stringify(name)
      } is invalid: use a letter or digit, then letters, digits, _ or -, at most 64 characters`,
      400,
    );
  }
}

/** A declared limit must be a positive integer (or absent); a deploy says which one is not. */
export function checkLimits(d: FunctionDefinition, name: string): void {
  const limits = d.limits as Record<string, unknown> | undefined;
  if (limits === undefined) return;
  if (typeof limits !== "object" || limits === null) {
    throw new DeployError(
      `Function ${name}: limits must be an object, got ${limits === null ? "null" : typeof limits}`,
      400,
    );
  }
  for (const key of ["timeoutMs", "maxConcurrency", "maxBodyBytes"]) {
    const v = limits[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) > 0)) {
      throw new DeployError(
        `Function ${name}: limits.${key} must be a positive integer, got ${JSON.stringify(v)}`,
        400,
      );
    }
  }
}

/** Accepts `export default app` (anything with fetch) or `export default defineFunction({...})`. Checks the shape
 * only: nothing of the function runs at deploy. */
export function asDefinition(mod: Record<string, unknown>, name: string): FunctionDefinition {
  const d = mod.default;
  if (isFunctionDefinition(d)) {
    if (typeof (d.app as { fetch?: unknown } | undefined)?.fetch !== "function") {
      throw new DeployError(`Function ${name}: defineFunction({...}) needs an app with a fetch method`, 400);
    }
    checkLimits(d, name);
    return d;
  }
  if (typeof d === "object" && d !== null && typeof (d as { fetch?: unknown }).fetch === "function") {
    return { kind: "gust-function", name, app: d as FunctionDefinition["app"] };
  }
  throw new DeployError(
    `Function ${name}: the module's default export must be a Hono app or defineFunction({...}), got ${
      d === undefined ? "nothing" : typeof d
    }`,
    400,
  );
}

/** `<stateDir>/<name>/<file>` */
function pathIn(stateDir: string, name: string, file?: string): string {
  const dir = joinPath(stateDir, name);
  return file === undefined ? dir : joinPath(dir, file);
}

export interface RegistryOptions {
  /** Longest a bundle's import (its top-level code) may take before the deploy fails. Default 30 000 ms (an
   * isolate starts a Deno process: seconds on a busy machine). */
  importTimeoutMs?: number;
  /** Default importLoader (in this process). */
  loader?: VersionLoader;
}

/** Imports a version into this process (no isolation: for tests of the registry's own logic). */
export const importLoader: VersionLoader = async (name, _version, file, limit) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`its import did not finish within ${limit} ms (top-level code that never settles?)`)),
      limit,
    );
  });
  try {
    return { definition: asDefinition(await Promise.race([import(pathToFileURL(file).href), stuck]), name) };
  } finally {
    clearTimeout(timer);
  }
};

export class FunctionRegistry {
  readonly #active = new Map<string, DeployedFunction>();
  /** Replaced versions, possibly still finishing requests: stopped too when the gateway shuts down. */
  readonly #retired = new Set<DeployedFunction>();
  readonly #importTimeoutMs: number;
  readonly #loader: VersionLoader;
  /** Absolute, so a version's file: URL does not depend on the working directory at import time. */
  readonly stateDir: string;

  constructor(stateDir: string, readonly log: (line: string) => void = () => {}, options: RegistryOptions = {}) {
    this.stateDir = resolve(stateDir);
    mkdirSync(this.stateDir, { recursive: true });
    this.#importTimeoutMs = options.importTimeoutMs ?? 30_000;
    this.#loader = options.loader ?? importLoader;
  }

  get(name: string): DeployedFunction | undefined {
    return this.#active.get(name);
  }

  list(): { name: string; version: number; versions: number[]; deployedAt: string }[] {
    return [...this.#active.values()].map((f) => ({
      name: f.name,
      version: f.version,
      versions: this.#versions(f.name),
      deployedAt: f.deployedAt,
    }));
  }

  /** Version numbers in the folder whose names match `pattern` (group 1: the number), ascending. */
  #numbers(name: string, pattern: RegExp): number[] {
    const dir = pathIn(this.stateDir, name);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((f) => pattern.exec(f)).filter((m) => m !== null).map((m) => Number(m![1]))
      .sort((a, b) => a - b);
  }

  #versions(name: string): number[] {
    return this.#numbers(name, /^v(\d+)\.mjs$/);
  }

  async #load(name: string, version: number): Promise<DeployedFunction> {
    const file = pathIn(this.stateDir, name, `v${version}.mjs`);
    try {
      const { definition, retire, stop } = await this.#loader(name, version, file, this.#importTimeoutMs);
      return { name, version, definition, retire, stop, deployedAt: new Date().toISOString() };
    } catch (err) {
      if (err instanceof DeployError) throw err;
      throw new DeployError(`Function ${name} v${version} failed to load: ${(err as Error).message}`, 400);
    }
  }

  /** Loads the newest of `versions` that loads, logging each one skipped; null when none does. */
  async #loadNewest(name: string, versions: number[]): Promise<DeployedFunction | null> {
    for (const version of [...versions].reverse()) {
      try {
        return await this.#load(name, version);
      } catch (err) {
        this.log(`gateway: skipping function ${name} v${version}: ${(err as Error).message}`);
      }
    }
    return null;
  }

  #activate(f: DeployedFunction): void {
    const previous = this.#active.get(f.name);
    this.#active.set(f.name, f);
    if (previous && previous !== f) {
      previous.retire?.();
      this.#retired.add(previous);
    }
    writeDurable(pathIn(this.stateDir, f.name, "active"), String(f.version));
    this.log(`gateway: function ${f.name} v${f.version} is live at /fn/${f.name}/`);
  }

  /** Stops every active version (gateway shutdown: no isolate outlives its gateway). */
  close(): void {
    for (const f of [...this.#active.values(), ...this.#retired]) f.stop?.();
    this.#retired.clear();
  }

  /** Stores a new version and makes it active; on failure the previous version stays active. */
  async deploy(name: string, bundle: string): Promise<DeployedFunction> {
    checkFunctionName(name);
    if (bundle.trim().length === 0) throw new DeployError(`Function ${name}: the bundle is empty`, 400);
    mkdirSync(pathIn(this.stateDir, name), { recursive: true });
    // numbers are never reused, failed ones included: the module cache keeps a URL's first import for good
    const version = (this.#numbers(name, /^v(\d+)\./).at(-1) ?? 0) + 1;
    const file = pathIn(this.stateDir, name, `v${version}.mjs`);
    writeDurable(file, bundle);
    let loaded: DeployedFunction;
    try {
      loaded = await this.#load(name, version);
    } catch (err) {
      renameSync(file, pathIn(this.stateDir, name, `v${version}.failed.mjs`));
      throw err;
    }
    this.#activate(loaded);
    return loaded;
  }

  /** Re-activates the newest version older than the active one. */
  async rollback(name: string): Promise<DeployedFunction> {
    checkFunctionName(name);
    const current = this.#active.get(name);
    if (!current) throw new DeployError(`Function ${name} is not deployed`, 404);
    const older = this.#versions(name).filter((v) => v < current.version);
    const loaded = await this.#loadNewest(name, older);
    if (!loaded) {
      throw new DeployError(
        `Function ${name} has no loadable version older than v${current.version} to roll back to`,
        409,
      );
    }
    this.#activate(loaded);
    return loaded;
  }

  /** Loads the active version of every function found in the state directory (gateway start); when it cannot
   * load, the newest older one that does (each skipped version logged). */
  async restore(): Promise<void> {
    for (const name of readdirSync(this.stateDir)) {
      const pointer = pathIn(this.stateDir, name, "active");
      if (!FUNCTION_NAME.test(name) || !existsSync(pointer)) continue;
      const active = Number(readFileSync(pointer, "utf8").trim());
      const versions = this.#versions(name);
      const loaded = await this.#loadNewest(
        name,
        Number.isSafeInteger(active) ? versions.filter((v) => v <= active) : versions,
      );
      if (loaded) this.#activate(loaded);
      else this.log(`gateway: could not restore function ${name}: no version of it loads`);
    }
  }
}
