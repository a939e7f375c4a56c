// The README stays a five-minute page, and what the docs point at exists: every relative Markdown link, and every
// repository path written in backticks (`edge/body.ts`), resolves. Dated notes (docs/notes/) are history and may
// name files that are gone; docs/reference/ is copied material.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/fixtures.ts";

const TOP = ["kernels", "ffi", "runtime", "edge", "functions", "models", "test", "bench", "tools", "docs"];

function markdownFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir)).flatMap((e) => {
    const rel = dir ? `${dir}/${e}` : e;
    if (e === "node_modules" || e.startsWith(".") || rel === "docs/notes" || rel === "docs/reference") return [];
    if (statSync(join(repoRoot, rel)).isDirectory()) return markdownFiles(rel);
    return e.endsWith(".md") ? [rel] : [];
  });
}

/** Relative link targets of `[text](target)`, without a #fragment; web links and pure fragments skipped. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1])
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith("#"))
    .map((t) => t.split("#")[0]);
}

/** Backticked tokens that name a path from the repository root (`runtime/engine/engine.ts`, `bench/lab/`). */
function repoPaths(text: string): string[] {
  return [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1])
    .filter((t) => TOP.some((d) => t.startsWith(`${d}/`)) && !/[<*…{]|\.\.\./.test(t))
    .map((t) => t.replace(/[.,;:]$/, ""));
}

describe("README and docs", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");

  it("the README is at most 100 lines and opens with the two commands", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(100);
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const commands = firstBlock.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
    expect(commands).toEqual(["npm install && npm start", "npm install && npm test"]);
  });

  it("every relative link and backticked repository path in the Markdown resolves", () => {
    const files = markdownFiles("");
    expect(files).toContain("README.md");
    expect(files).toContain("docs/DESIGN.md");
    const dangling = files.flatMap((file) => {
      const text = readFileSync(join(repoRoot, file), "utf8");
      const links = relativeLinks(text).map((t) => relative(repoRoot, resolve(repoRoot, dirname(file), t)));
      return [...links, ...repoPaths(text)].filter((p) => !existsSync(join(repoRoot, p))).map((p) => `${file} → ${p}`);
    });
    expect(dangling).toEqual([]);
  });

  it("the references the design and the code cite are in docs/reference/", () => {
    for (const name of ["model-spec.md", "performance-anchors.md", "feature-landscape.md", "codebase-anchors.md"]) {
      expect(existsSync(join(repoRoot, "docs/reference", name)), name).toBe(true);
    }
  });
});
