// Builds the native kernel libraries into kernels/build/.
// CPU: always, with the system C compiler (-O3, OpenMP; AVX2 paths are selected at run time).
// CUDA: whenever nvcc is on PATH (compile errors surface on machines without a GPU too).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const out = join(root, "build");
mkdirSync(out, { recursive: true });

function newestMtime(files) {
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function upToDate(target, inputs) {
  return existsSync(target) && statSync(target).mtimeMs >= newestMtime(inputs);
}

/** What both libraries are built from besides their own folder: every header beside gust.h (the ABI and the cores
 *  the CPU and CUDA twins share) and this script. */
function sharedInputs() {
  const headers = readdirSync(root).filter((f) => f.endsWith(".h")).map((f) => join(root, f));
  return [...headers, fileURLToPath(import.meta.url)];
}

function buildCpu() {
  const dir = join(root, "cpu");
  const sources = readdirSync(dir).filter((f) => f.endsWith(".c")).map((f) => join(dir, f));
  const headers = readdirSync(dir).filter((f) => f.endsWith(".h")).map((f) => join(dir, f));
  const inputs = [
    ...sources,
    ...headers,
    ...sharedInputs(),
  ];
  const target = join(out, "libgust_cpu.so");
  if (upToDate(target, inputs)) return;
  const cc = process.env.CC ?? "cc";
  const flags = [
    "-O3",
    "-std=c11",
    "-D_GNU_SOURCE",
    "-fPIC",
    "-shared",
    "-fopenmp",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
  ];
  execFileSync(cc, [...flags, "-o", target, ...sources, "-lm"], { stdio: "inherit" });
  console.log(`built ${target}`);
}

// CUDA: one object per .cu (rebuilt when it, a header or this script changes; compiled in parallel),
// linked into one shared library. Notes:
//  - a fat binary of machine code for sm_80 (A100 and every 8.x GPU) and sm_90a (H100/H200), no PTX to JIT.
//    `-gencode arch=compute_90a,code=sm_90a` because the plain `-arch=sm_90a` shorthand also runs an sm_90
//    pass that rejects sm_90a-only instructions. sm_80 converts FP8 with integer ops (kernels/cuda/linear.cuh);
//    GUST_CUDA_FP8_INTEGER=1 builds that path for sm_90a too (to check it on a Hopper GPU).
//  - the CUDA runtime is linked statically (nvcc's default), so the library needs only the driver
//    (libcuda.so.1) at run time, found by the loader on any machine with a GPU; without one, dlopen still
//    succeeds and gust_init reports that no device is present.
//  - no cuBLAS: this CUDA install has none, so every kernel is our own (kernels/cuda/README.md).
//  - exports.map keeps the exported symbols to the ABI's gust_* functions.
async function buildCuda() {
  const probe = spawnSync("nvcc", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) return;
  const dir = join(root, "cuda");
  if (!existsSync(dir)) return;
  const sources = readdirSync(dir).filter((f) => f.endsWith(".cu")).map((f) => join(dir, f));
  if (sources.length === 0) return;
  const target = join(out, "libgust_cuda.so");
  const objDir = join(out, "cuda-obj");
  mkdirSync(objDir, { recursive: true });
  const headers = readdirSync(dir).filter((f) => f.endsWith(".cuh")).map((f) => join(dir, f));
  const exportsMap = join(dir, "exports.map");
  const shared = [
    ...headers,
    ...sharedInputs(),
  ];
  const forceInteger = process.env.GUST_CUDA_FP8_INTEGER === "1";
  const flags = [
    "-O3",
    "-std=c++17",
    "-gencode",
    "arch=compute_80,code=sm_80",
    "-gencode",
    "arch=compute_90a,code=sm_90a",
    ...(forceInteger ? ["-DGUST_FP8_INTEGER_CONVERT"] : []),
    "-Xcompiler",
    "-fPIC,-Wall,-Wextra",
    "-Xptxas",
    "-warn-spills,-warn-lmem-usage",
  ];
  const objects = sources.map((src) => ({ src, obj: join(objDir, src.slice(dir.length + 1).replace(/\.cu$/, ".o")) }));
  // objects built with other flags (GUST_CUDA_FP8_INTEGER toggled) are stale too
  const flagsFile = join(objDir, "flags.json");
  const flagsChanged = !existsSync(flagsFile) || readFileSync(flagsFile, "utf8") !== JSON.stringify(flags);
  const stale = objects.filter(({ src, obj }) => flagsChanged || !upToDate(obj, [src, ...shared]));
  const jobs = Math.max(1, Math.min(availableParallelism(), 8));
  let failed = null;
  const queue = [...stale];
  const worker = async () => {
    while (queue.length > 0 && !failed) {
      const { src, obj } = queue.shift();
      const result = await run("nvcc", [...flags, "-c", src, "-o", obj]);
      if (result !== 0) failed = src;
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  if (failed) throw new Error(`nvcc failed on ${failed}`);
  writeFileSync(flagsFile, JSON.stringify(flags));
  if (stale.length === 0 && upToDate(target, [...objects.map((o) => o.obj), exportsMap])) return;
  execFileSync("nvcc", [
    "-shared",
    "-o",
    target,
    ...objects.map((o) => o.obj),
    "-Xlinker",
    `--version-script=${exportsMap}`,
  ], { stdio: "inherit" });
  console.log(`built ${target}`);
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 1));
    child.on("error", () => resolve(1));
  });
}

buildCpu();
await buildCuda();
