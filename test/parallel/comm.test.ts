// gust_comm_* on the CPU backend across real processes: all-reduce sums in rank order and every rank holds
// the same bits, all-gather and broadcast move bytes (over more than one 4 MiB slot), a rendezvous that
// does not complete names the missing ranks, and a rank that dies fails the others' collective by number.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createBackend } from "../../ffi/backend.ts";
import { commIdToHex } from "../../ffi/comm.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin } from "../helpers/processes.ts";

const script = join(repoRoot, "test/parallel/comm-rank.ts");

interface RankRun {
  code: number | null;
  out: string;
  err: string;
}

function runRank(id: string, numRanks: number, rank: number, count: number, mode = ""): Promise<RankRun> {
  const child = spawn(bunBin, [script, id, String(numRanks), String(rank), String(count), mode], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  let out = "", err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out, err })));
}

const backend = () => createBackend("cpu", { numThreads: 1 });

/** The rank-order float32 sum the ranks must produce. */
function expectedSum(numRanks: number, i: number): number {
  let s = Math.fround(Math.sin(i) * 1);
  for (let r = 1; r < numRanks; r++) s = Math.fround(s + Math.fround(Math.sin(i * (r + 1)) * 10 ** r));
  return s;
}

describe("gust_comm_* on the cpu backend (real processes)", () => {
  for (const numRanks of [2, 4]) {
    it(`${numRanks} ranks: all-reduce in rank order, bit-identical on every rank; all-gather; broadcast`, async () => {
      const id = commIdToHex(backend().commUniqueId());
      const count = 1_200_001; // 4.8 MB: two chunks of the 4 MiB slot
      const runs = await Promise.all(Array.from({ length: numRanks }, (_, r) => runRank(id, numRanks, r, count)));
      for (const r of runs) expect(r.code, r.err).toBe(0);
      const results = runs.map((r) => JSON.parse(r.out));
      for (const res of results) {
        expect(res.sumHash).toBe(results[0].sumHash);
        expect(res.gathered).toEqual(Array.from({ length: numRanks }, (_, r) => [r * 7, r * 7 + 1, r * 7 + 2]).flat());
        expect(res.broadcastOk).toBe(true);
      }
      const indices = [0, 1, 2, 3, count - 2, count - 1];
      expect(results[0].sample).toEqual(indices.map((i) => expectedSum(numRanks, i)));
    });
  }

  it("a rendezvous that does not complete fails after the timeout, naming the missing ranks", () => {
    const b = backend();
    expect(() => b.commInit(b.commUniqueId(), 3, 0, 300)).toThrow(/timed out after 300 ms.*never arrived: 1, 2/);
  });

  it("a follower that never finds rank 0 says so", () => {
    const b = backend();
    expect(() => b.commInit(b.commUniqueId(), 2, 1, 200)).toThrow(/rank 0 never arrived/);
  });

  it("a rank that dies makes the others' collective fail with its number", async () => {
    const id = commIdToHex(backend().commUniqueId());
    const [r0, r1] = await Promise.all([runRank(id, 2, 0, 1000), runRank(id, 2, 1, 1000, "exit-after-init")]);
    expect(r1.code).toBe(3);
    expect(r0.code).toBe(2);
    expect(r0.err).toMatch(/rank 1 \(pid \d+\) exited/);
  });
});
