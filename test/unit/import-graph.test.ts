// DESIGN §2: the model side (runtime, ffi) never imports the HTTP side (edge, functions); on the HTTP side the
// direction is edge → functions (the gateway hosts functions; functions never reach into the gateway); and the three
// shared folders (runtime/text, runtime/grammar, runtime/wire) stay pure TypeScript (no ffi, no Bun-only modules)
// that import nothing of either side, so the gateway can use them on Deno.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";

function tsFiles(dir: string): string[] {
  const abs = join(repoRoot, dir);
  let entries: string[];
  try {
    entries = readdirSync(abs);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(abs, e);
    return statSync(p).isDirectory() ? tsFiles(relative(repoRoot, p)) : e.endsWith(".ts") ? [p] : [];
  });
}

function imports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  const found = [
    ...src.matchAll(/(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((m) => m[1] ?? m[2]);
}

/** Imports that exist at run time: `import type` and `export type` are erased by the compiler. */
function valueImports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  const found = [
    ...src.matchAll(
      /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
    ),
  ];
  return found.filter((m) => m[4] !== undefined || !m[2]).map((m) => m[3] ?? m[4]);
}

function violations(dirs: string[], forbidden: (target: string) => boolean): string[] {
  return dirs.flatMap(tsFiles).flatMap((file) =>
    imports(file)
      .map((spec) => (spec.startsWith(".") ? relative(repoRoot, resolve(dirname(file), spec)) : spec))
      .filter(forbidden)
      .map((target) => `${relative(repoRoot, file)} → ${target}`)
  );
}

describe("import graph", () => {
  // The CLI's entry (runtime/cli/main.ts) and `gust dev` are composition roots: they start both
  // sides, so they alone may reach into edge/; and `gust run --image` resizes its files with the gateway's own
  // resize (edge/vision/bicubic.ts), so the one-shot run sees the pixels a chat request would. Everything else on the
  // model side may not.
  const compositionRoots = new Set([
    "runtime/cli/main.ts",
    "runtime/cli/dev-command.ts",
    "runtime/cli/run-images.ts",
  ]);

  it("runtime, ffi and kernels do not import edge or functions", () => {
    const bad = violations(["runtime", "ffi"], (t) => t.startsWith("edge/") || t.startsWith("functions/"))
      .filter((v) => !compositionRoots.has(v.split(" → ")[0]));
    expect(bad).toEqual([]);
  });

  // each shared folder, and the repo folders it may import (besides itself)
  const shared: [string, string[]][] = [
    ["runtime/text", []],
    ["runtime/grammar", ["runtime/text/"]],
    ["runtime/wire", []],
  ];
  const repoFolders = ["runtime/", "edge/", "functions/", "ffi/", "kernels/"];

  it.each(shared)("%s imports no bun: module and of the repo only %j", (dir, allowed) => {
    const bad = violations(
      [dir],
      (t) =>
        t.startsWith("bun:") || t === "bun" ||
        (repoFolders.some((f) => t.startsWith(f)) && !t.startsWith(`${dir}/`) && !allowed.some((a) => t.startsWith(a))),
    );
    expect(bad).toEqual([]);
  });

  it("functions never import edge: the gateway (edge) hosts functions, not the other way round", () => {
    expect(violations(["functions"], (t) => t.startsWith("edge/"))).toEqual([]);
  });

  it("edge and functions import only edge, functions, runtime/text, runtime/grammar and runtime/wire of the repo (never ffi or the model side)", () => {
    const bad = violations(
      ["edge", "functions"],
      (t) =>
        t.startsWith("bun:") || t.startsWith("ffi/") || t.startsWith("kernels/") ||
        (t.startsWith("runtime/") && !t.startsWith("runtime/text/") && !t.startsWith("runtime/wire/") &&
          !t.startsWith("runtime/grammar/")),
    );
    expect(bad).toEqual([]);
  });

  it("nothing the gateway loads at run time reaches the model side (type-only imports are erased)", () => {
    // follow value imports (not `import type`/`export type`) from every gateway file, transitively
    const seen = new Set<string>();
    const stack = [...tsFiles("edge"), ...tsFiles("functions")];
    const reached: string[] = [];
    while (stack.length) {
      const file = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const rel = relative(repoRoot, file);
      reached.push(rel);
      for (const spec of valueImports(file)) {
        if (spec.startsWith("bun:")) reached.push(`${rel} → ${spec}`);
        if (spec.startsWith(".")) stack.push(resolve(dirname(file), spec));
      }
    }
    const modelSide = reached.filter((f) =>
      f.includes("bun:") || f.startsWith("ffi/") || f.startsWith("kernels/") ||
      (f.startsWith("runtime/") && !f.startsWith("runtime/text/") && !f.startsWith("runtime/wire/") &&
        !f.startsWith("runtime/grammar/"))
    );
    expect(modelSide).toEqual([]);
    expect(reached).toContain("runtime/text/parse/stream.ts"); // the walk did go somewhere
  });

  it("the walker sees real imports (guards against a vacuous pass)", () => {
    expect(imports(join(repoRoot, "runtime/model/text-model.ts"))).toContain("../../ffi/backend.ts");
  });
});
