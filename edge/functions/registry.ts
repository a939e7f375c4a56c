// Deployed functions: versions kept on disk, one active version per name, swapped atomically. A request
// holds the app object it started with, so in-flight requests finish on the old version while new ones
// reach the new one. A bundle that fails to load (syntax error, throws at import, wrong default export)
// is rejected and the active version keeps serving.
//
// Layout: <stateDir>/<name>/v<N>.mjs and <stateDir>/<name>/active (the active version number).
import { joinPath } from "../../runtime/text/io.ts";
import { type FunctionDefinition, isFunctionDefinition } from "../../functions/sdk/define-function.ts";

import { FUNCTION_NAME_RE } from "../functions-mount.ts";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The one rule for function names, shared with the gateway's /fn/<name> router. */
export const FUNCTION_NAME = FUNCTION_NAME_RE;

export interface DeployedFunction {
  name: string;
  version: number;
  definition: FunctionDefinition;
  deployedAt: string;
}

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

/** Accepts `export default app` (anything with fetch) or `export default defineFunction({...})`. */
export function asDefinition(mod: Record<string, unknown>, name: string): FunctionDefinition {
  const d = mod.default;
  if (isFunctionDefinition(d)) return d;
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

export class FunctionRegistry {
  readonly #active = new Map<string, DeployedFunction>();
  /** Absolute, so a version's file: URL does not depend on the working directory at import time. */
  readonly stateDir: string;

  constructor(stateDir: string, readonly log: (line: string) => void = () => {}) {
    this.stateDir = resolve(stateDir);
    mkdirSync(this.stateDir, { recursive: true });
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

  #versions(name: string): number[] {
    const dir = pathIn(this.stateDir, name);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((f) => /^v(\d+)\.mjs$/.exec(f)).filter((m) => m !== null).map((m) => Number(m![1]))
      .sort((a, b) => a - b);
  }

  async #load(name: string, version: number): Promise<DeployedFunction> {
    const file = pathIn(this.stateDir, name, `v${version}.mjs`);
    let mod: Record<string, unknown>;
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (err) {
      throw new DeployError(`Function ${name} v${version} failed to load: ${(err as Error).message}`, 400);
    }
    return { name, version, definition: asDefinition(mod, name), deployedAt: new Date().toISOString() };
  }

  #activate(f: DeployedFunction): void {
    this.#active.set(f.name, f);
    writeFileSync(pathIn(this.stateDir, f.name, "active"), String(f.version));
    this.log(`gateway: function ${f.name} v${f.version} is live at /fn/${f.name}/`);
  }

  /** Stores a new version and makes it active; on failure the previous version stays active. */
  async deploy(name: string, bundle: string): Promise<DeployedFunction> {
    checkFunctionName(name);
    if (bundle.trim().length === 0) throw new DeployError(`Function ${name}: the bundle is empty`, 400);
    mkdirSync(pathIn(this.stateDir, name), { recursive: true });
    const version = (this.#versions(name).at(-1) ?? 0) + 1;
    writeFileSync(pathIn(this.stateDir, name, `v${version}.mjs`), bundle);
    const loaded = await this.#load(name, version);
    this.#activate(loaded);
    return loaded;
  }

  /** Re-activates the newest version older than the active one. */
  async rollback(name: string): Promise<DeployedFunction> {
    checkFunctionName(name);
    const current = this.#active.get(name);
    if (!current) throw new DeployError(`Function ${name} is not deployed`, 404);
    const older = this.#versions(name).filter((v) => v < current.version);
    if (older.length === 0) {
      throw new DeployError(`Function ${name} has no version older than v${current.version} to roll back to`, 409);
    }
    const loaded = await this.#load(name, older.at(-1)!);
    this.#activate(loaded);
    return loaded;
  }

  /** Loads the active version of every function found in the state directory (gateway start). */
  async restore(): Promise<void> {
    for (const name of readdirSync(this.stateDir)) {
      const pointer = pathIn(this.stateDir, name, "active");
      if (!FUNCTION_NAME.test(name) || !existsSync(pointer)) continue;
      try {
        this.#activate(await this.#load(name, Number(readFileSync(pointer, "utf8"))));
      } catch (err) {
        this.log(`gateway: could not restore function ${name}: ${(err as Error).message}`);
      }
    }
  }
}
