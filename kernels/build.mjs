// Builds the native kernel libraries into kernels/build/.
// CPU: always, with the system C compiler (-O3, OpenMP; AVX2 paths are selected at run time).
// CUDA: whenever nvcc is on PATH (compile errors surface on machines without a GPU too).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync, existsSync } from "node:fs";
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

function buildCpu() {
  const dir = join(root, "cpu");
  const sources = readdirSync(dir).filter((f) => f.endsWith(".c")).map((f) => join(dir, f));
  const inputs = [...sources, join(dir, "internal.h"), join(root, "gust.h"), fileURLToPath(import.meta.url)];
  const target = join(out, "libgust_cpu.so");
  if (upToDate(target, inputs)) return;
  const cc = process.env.CC ?? "cc";
  const flags = ["-O3", "-std=c11", "-D_GNU_SOURCE", "-fPIC", "-shared", "-fopenmp", "-Wall", "-Wextra", "-Wno-unused-parameter"];
  execFileSync(cc, [...flags, "-o", target, ...sources, "-lm"], { stdio: "inherit" });
  console.log(`built ${target}`);
}

function buildCuda() {
  const probe = spawnSync("nvcc", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) return;
  const dir = join(root, "cuda");
  if (!existsSync(dir)) return;
  const sources = readdirSync(dir).filter((f) => f.endsWith(".cu")).map((f) => join(dir, f));
  if (sources.length === 0) return;
  const target = join(out, "libgust_cuda.so");
  const headers = readdirSync(dir).filter((f) => f.endsWith(".cuh")).map((f) => join(dir, f));
  if (upToDate(target, [...sources, ...headers, join(root, "gust.h")])) return;
  execFileSync("nvcc", ["-O3", "-std=c++17", "-arch=sm_90a", "-Xcompiler", "-fPIC", "-shared", "-o", target, ...sources, "-lcublasLt"], { stdio: "inherit" });
  console.log(`built ${target}`);
}

buildCpu();
buildCuda();
