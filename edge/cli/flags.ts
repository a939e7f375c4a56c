/** Long-option parsing for the gateway's command line, which runs on Deno as well as Bun: `node:util`'s parseArgs
 * would load Deno's Node layer into the gateway's isolate (../platform/system.ts says why that matters). The
 * subset the gateway uses, strict like parseArgs: `--name value` and `--name=value` for strings (`multiple` collects
 * repeats, otherwise the last wins), `--name` for booleans, no positionals, no short options.
 *
 * Example: ["--runtime", "/tmp/g.sock", "--api-key=a", "--api-key", "b"] with api-key multiple
 *   → { runtime: "/tmp/g.sock", "api-key": ["a", "b"] }. */

export type FlagSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

export type FlagValues<S extends FlagSpec> = {
  [K in keyof S]?: S[K]["type"] extends "boolean" ? boolean : S[K]["multiple"] extends true ? string[] : string;
};

export class FlagError extends Error {
  override name = "FlagError";
}

export function parseFlags<S extends FlagSpec>(argv: readonly string[], spec: S): FlagValues<S> {
  const values: Record<string, string | boolean | string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--") || arg === "--") {
      throw new FlagError(`Unexpected argument '${arg}': this command takes only --options`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const option = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!option) {
      throw new FlagError(`Unknown option '--${name}'; allowed: ${Object.keys(spec).map((k) => `--${k}`).join(", ")}`);
    }
    if (option.type === "boolean") {
      if (eq >= 0) throw new FlagError(`Option '--${name}' does not take a value`);
      values[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) value = argv[++i];
    else throw new FlagError(`Option '--${name} <value>' argument missing`);
    if (option.multiple) ((values[name] ??= []) as string[]).push(value);
    else values[name] = value;
  }
  return values as FlagValues<S>;
}
