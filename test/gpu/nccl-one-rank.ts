// The single-GPU NCCL check of issue 30 ("On a single H100/H200"), as one command for a GPU machine:
//
//   npm run build && bun test/gpu/nccl-one-rank.ts [--model DIR] [--backend cuda|cpu]
//
// 1. finds libnccl.so.2 (GUST_NCCL_LIBRARY if set, else the one PyTorch ships: the nvidia-nccl wheel's lib/ or
//    torch/lib/, asked of python3) and re-runs itself with GUST_NCCL_LIBRARY set, since the C library reads
//    getenv() and Bun's process.env does not reach it;
// 2. makes a 1-rank communicator through gust_comm_init (NCCL on CUDA) and runs each collective on the raw ABI
//    (all-reduce, all-gather, broadcast, barrier): with one rank each must leave the data as it was;
// 3. loads the model twice, plainly and as rank 0 of 1 through the communicator (lm_head logits then pass through
//    gust_comm_all_gather), and requires the prompt's logits to be bit-identical and 16 greedy tokens equal.
// Prints one line per check and a JSON summary last; exits 0 only when every check passed. `--backend cpu` runs
// the same script on the CPU communicator (shared memory), which checks the script itself on a machine without a
// GPU. NCCL refuses two ranks on one GPU, so this says nothing about multi-GPU speed or correctness.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Backend, createBackend } from "../../ffi/backend.ts";
import { kernelBuildDir } from "../../ffi/library-path.ts";
import { loadModel } from "../../runtime/model/load-model.ts";
import { SingleSequence } from "../../runtime/model/single-sequence.ts";
import { argmax } from "../../runtime/sampling/basic.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { model: { type: "string" }, backend: { type: "string", default: "cuda" } },
});
const kind = values.backend === "cpu" ? "cpu" : "cuda";
const modelDir = values.model ?? join(dirname(fileURLToPath(import.meta.url)), "../fixtures/tiny-mistral3-fp8");

/** libnccl.so.2 of the machine's PyTorch install, or null. */
function ncclFromPyTorch(): string | null {
  const find = `
import glob, importlib.util, os
for name in ("nvidia.nccl", "torch"):
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    for d in (spec.submodule_search_locations or []) if spec else []:
        for f in sorted(glob.glob(os.path.join(d, "lib", "libnccl.so*"))):
            print(f)
`;
  const r = spawnSync("python3", ["-c", find], { encoding: "utf8" });
  return r.status === 0 ? (r.stdout.split("\n").find((l) => l.trim()) ?? null) : null;
}

if (kind === "cuda" && !process.env.GUST_NCCL_LIBRARY) {
  const found = ncclFromPyTorch();
  if (!found) {
    console.log("FAIL no libnccl.so.2: set GUST_NCCL_LIBRARY, or install PyTorch (pip's nvidia-nccl-cu* wheel)");
    process.exit(1);
  }
  console.log(`nccl: ${found} (from PyTorch)`);
  const child = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: "inherit",
    env: { ...process.env, GUST_NCCL_LIBRARY: found },
  });
  process.exit(child.status ?? 1);
}

const results: { check: string; ok: boolean; detail: string }[] = [];
function check(name: string, run: () => string): void {
  try {
    const detail = run();
    results.push({ check: name, ok: true, detail });
    console.log(`ok   ${name}: ${detail}`);
  } catch (err) {
    results.push({ check: name, ok: false, detail: (err as Error).message });
    console.log(`FAIL ${name}: ${(err as Error).message}`);
  }
}

const backend: Backend = createBackend(kind);
if (kind === "cuda") console.log(`nccl: GUST_NCCL_LIBRARY=${process.env.GUST_NCCL_LIBRARY}`);

// the raw ABI, so the 1-rank all-reduce and broadcast reach NCCL (the TS Communicator skips them at one rank)
const lib = dlopen(join(kernelBuildDir, `libgust_${kind}.so`), {
  gust_comm_init: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  gust_comm_all_reduce_sum: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  gust_comm_all_gather: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  gust_comm_broadcast: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  gust_comm_barrier: { args: [FFIType.ptr], returns: FFIType.i32 },
  gust_comm_destroy: { args: [FFIType.ptr], returns: FFIType.i32 },
  gust_last_error: { args: [], returns: FFIType.cstring },
}).symbols;
const must = (what: string, status: number) => {
  if (status !== 0) throw new Error(`${what}: status ${status}: ${lib.gust_last_error()}`);
};

check("raw collectives on a 1-rank communicator", () => {
  const out = new BigUint64Array(1);
  must("gust_comm_init", lib.gust_comm_init(out, backend.commUniqueId(), 1, 0, 30_000));
  const comm = Number(out[0]) as Pointer;
  const values = Float32Array.from({ length: 1 << 20 }, (_, i) => Math.sin(i) * 1e3);
  using x = backend.fromHost(values);
  using gathered = backend.alloc(values.byteLength);
  try {
    must("all_reduce_sum", lib.gust_comm_all_reduce_sum(comm, x.ptr, values.length));
    must("broadcast", lib.gust_comm_broadcast(comm, x.ptr, values.byteLength, 0));
    must("all_gather", lib.gust_comm_all_gather(comm, gathered.ptr, x.ptr, values.byteLength));
    must("barrier", lib.gust_comm_barrier(comm));
  } finally {
    lib.gust_comm_destroy(comm);
  }
  for (const [name, buf] of [["all-reduce/broadcast", x], ["all-gather", gathered]] as const) {
    const got = backend.download(buf, new Float32Array(values.length));
    const bad = got.findIndex((v, i) => v !== values[i]);
    if (bad >= 0) throw new Error(`${name} changed element ${bad}: ${values[bad]} → ${got[bad]}`);
  }
  return `${values.length} f32 through all-reduce, broadcast, all-gather and a barrier, unchanged`;
});

check("TP 1 through the communicator ≡ the plain path", () => {
  const comm = backend.commInit(backend.commUniqueId(), 1, 0, 30_000);
  const plain = loadModel(modelDir, backend);
  const ranked = loadModel(modelDir, backend, { parallel: { comm } });
  try {
    const vocab = plain.config.text.vocabSize;
    const ids = Array.from({ length: 24 }, (_, i) => (i * 7919 + 3) % Math.min(vocab, 1000) + 1);
    const a = new SingleSequence(backend, plain.model, ids.length + 16);
    const b = new SingleSequence(backend, ranked.model, ids.length + 16);
    try {
      const ref = a.append(ids, { allRows: true }).logits, got = b.append(ids, { allRows: true }).logits;
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
      if (maxDiff !== 0) throw new Error(`logits differ: max |diff| ${maxDiff} over ${ref.length} values`);
      const greedy = (s: SingleSequence, logits: Float32Array) => {
        const out: number[] = [];
        let last = logits.subarray(logits.length - vocab);
        for (let i = 0; i < 16; i++) {
          out.push(argmax(last));
          if (i < 15) last = s.append([out[i]]).logits;
        }
        return out;
      };
      const ta = greedy(a, ref), tb = greedy(b, got);
      if (ta.join() !== tb.join()) throw new Error(`greedy tokens differ: ${ta} vs ${tb}`);
      return `${modelDir}: ${ref.length} logits bit-identical, 16 greedy tokens equal (${ta.slice(0, 6)}…)`;
    } finally {
      a.dispose();
      b.dispose();
    }
  } finally {
    ranked.dispose();
    plain.dispose();
    comm.destroy();
  }
});

const passed = results.every((r) => r.ok);
console.log(JSON.stringify({ backend: kind, nccl: process.env.GUST_NCCL_LIBRARY ?? null, passed, results }));
process.exit(passed ? 0 : 1);
