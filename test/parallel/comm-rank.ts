// One rank of the communicator test (test/parallel/comm.test.ts): a real process that joins the
// communicator named on its command line, runs the collectives and prints what it holds as JSON.
// Usage: bun comm-rank.ts <id hex> <numRanks> <rank> <count> [exit-after-init]
import { createBackend } from "../../ffi/backend.ts";
import { commIdFromHex } from "../../ffi/comm.ts";

const [idHex, ranksArg, rankArg, countArg, mode] = process.argv.slice(2);
const numRanks = Number(ranksArg), rank = Number(rankArg), count = Number(countArg);
const b = createBackend("cpu", { numThreads: 1, skipSelfTest: true });
const comm = b.commInit(commIdFromHex(idHex), numRanks, rank, 20_000);
if (mode === "exit-after-init") process.exit(3);
try {
  // rank r contributes x[i] = sin(i · (r + 1)) · 10^r: values of different magnitude, so the order matters
  const mine = new Float32Array(count).map((_, i) => Math.sin(i * (rank + 1)) * 10 ** rank);
  const buf = b.fromHost(mine);
  comm.allReduceSum(buf, count);
  const sum = b.download(buf, new Float32Array(count));
  const part = b.fromHost(new Int32Array([rank * 7, rank * 7 + 1, rank * 7 + 2]));
  const gathered = b.alloc(12 * numRanks);
  comm.allGather(gathered, part, 12);
  const big = b.fromHost(new Uint8Array(count * 4).fill(rank === 1 % numRanks ? 0xab : 0));
  comm.broadcast(big, count * 4, 1 % numRanks);
  const bytes = b.download(big, new Uint8Array(count * 4));
  comm.barrier();
  const sumHex = Buffer.from(sum.buffer).toString("hex");
  process.stdout.write(
    JSON.stringify({
      rank,
      sumHash: new Bun.CryptoHasher("sha256").update(sumHex).digest("hex"),
      sample: Array.from(sum.subarray(0, 4)).concat(Array.from(sum.subarray(count - 2))),
      gathered: Array.from(b.download(gathered, new Int32Array(3 * numRanks))),
      broadcastOk: bytes.every((v) => v === 0xab),
    }) + "\n",
  );
  comm.destroy();
} catch (err) {
  process.stderr.write(`rank ${rank}: ${(err as Error).message}\n`);
  process.exit(2);
}
