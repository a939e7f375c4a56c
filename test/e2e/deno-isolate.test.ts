// The Deno gateway's own isolate stays free of Deno's Node layer and of sharp (edge/platform/system.ts says why:
// every full collection marks whatever is loaded). Measured, not inferred from imports: a real gateway on Deno
// serves each kind of request (chat, stream, image, deploy, metrics) against a running runtime, then loads each part
// itself and reports what that added to its live heap. A part the gateway had already loaded adds nothing.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureDir, repoRoot } from "../helpers/fixtures.ts";
import { denoBin, type Started, startGust, tempSocket } from "../helpers/processes.ts";

const MODEL = "tiny-mistral3"; // has a vision tower, so the image request reaches the render pool
const socket = tempSocket("isolate");
let runtime: Started;

beforeAll(async () => {
  runtime = await startGust(
    ["runtime", "--model", fixtureDir(MODEL), "--socket", socket, "--num-blocks", "64"],
    /serving/,
  );
}, 60_000);
afterAll(async () => {
  await runtime?.stop();
});

describe("the Deno gateway's isolate", () => {
  it("serves chat, streams, images, deploys and metrics without loading Deno's Node layer or sharp", () => {
    const stateDir = mkdtempSync(join(tmpdir(), "gust-isolate-"));
    const png = join(fixtureDir(MODEL), "one_image.image0.png");
    const r = spawnSync(denoBin, [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      join(repoRoot, "test/e2e/deno-isolate-probe.ts"),
      socket,
      stateDir,
      png,
    ], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const { heapUsedBytes, addedBytes } = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
      heapUsedBytes: number;
      addedBytes: Record<string, number>;
    };
    const report = `live heap ${(heapUsedBytes / 2 ** 20).toFixed(2)} MiB; loading each part afterwards added ${
      JSON.stringify(addedBytes)
    } bytes`;
    // Deno 2.9, the gateway at 7.2 MiB: process 0.72 MiB, node:net 0.41, node:fs 0.35, node:crypto 0.25, sharp 1.67;
    // one the gateway had loaded itself adds nothing (a few KiB either way)
    for (const [part, bytes] of Object.entries(addedBytes)) {
      expect(bytes, `${part}: ${report}`).toBeGreaterThan(100 * 1024);
    }
    expect(Object.keys(addedBytes)).toEqual(["process", "node:net", "node:fs", "node:crypto", "sharp"]);
  }, 120_000);
});
