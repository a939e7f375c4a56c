/** The few facts about the host the gateway asks for, read through Deno's own API on Deno and Node's elsewhere (Bun).
 *
 * Why not `node:os` and `process` everywhere: on Deno the first touch of a Node.js global (`process`, `Buffer`, even
 * `typeof setImmediate`) loads the core of Deno's Node layer into the isolate, ~0.7 MB of live heap, and `node:net`,
 * `node:fs` and `node:crypto` ~0.25–0.4 MB more each: all of it marked again by every full collection (edge/README.md,
 * "Garbage-collector settings"). The Deno gateway loads none of it; test/e2e/deno-isolate.test.ts checks that.
 * `node:timers` is the exception: Deno 2.9's web timers are built on it, so a process that has used `setTimeout`
 * has it loaded already (edge/metrics/loop-lag.ts takes its `setImmediate` from there). */

interface DenoSystem {
  env: { get(name: string): string | undefined };
  build: { os: string };
  cwd(): string;
}

interface NodeProcess {
  env: Record<string, string | undefined>;
  platform: string;
  cwd(): string;
  getBuiltinModule(id: string): unknown;
}

/** Deno's namespace, or null on another runtime. */
export function denoNamespace<T = DenoSystem>(): T | null {
  return (globalThis as unknown as { Deno?: T }).Deno ?? null;
}

/** Node's `process` (Bun, Node); only called where `denoNamespace()` is null. */
export function nodeProcess(): NodeProcess {
  const p = (globalThis as { process?: NodeProcess }).process;
  if (!p) {
    throw new Error(
      "this runtime has neither Deno's namespace nor Node's process object; run the gateway on Bun or Deno",
    );
  }
  return p;
}

/** A Node built-in module without a static import (so Deno never sees one): `process.getBuiltinModule`. */
export function nodeBuiltin<T>(id: string): T {
  return nodeProcess().getBuiltinModule(id) as T;
}

/** Deno.env.get (needs --allow-env; without it we see nothing rather than crash) or process.env. */
export function platformEnv(name: string): string | undefined {
  const deno = denoNamespace();
  if (deno) {
    try {
      return deno.env.get(name);
    } catch {
      return undefined;
    }
  }
  return (globalThis as { process?: NodeProcess }).process?.env?.[name];
}

/** "linux", "darwin", "windows"/"win32", ... as the runtime names it. */
export function platformOs(): string {
  return denoNamespace()?.build.os ?? nodeProcess().platform;
}

export function currentDir(): string {
  return denoNamespace()?.cwd() ?? nodeProcess().cwd();
}

/** $HOME (the gateway's default state directory lives under it); the working directory where it is unset. */
export function homeDir(): string {
  return platformEnv("HOME") ?? platformEnv("USERPROFILE") ?? currentDir();
}
