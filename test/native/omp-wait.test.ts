// The OpenMP wait default: set in the C environment before libgomp loads, unless the operator chose one.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_GOMP_SPINCOUNT, ompWaitDefaults } from "../../ffi/omp-wait.ts";
import { repoRoot } from "../helpers/fixtures.ts";
import { bunBin } from "../helpers/processes.ts";

describe("ompWaitDefaults", () => {
  it("sets a short spin when the operator set neither variable", () => {
    expect(ompWaitDefaults({})).toEqual({ GOMP_SPINCOUNT: DEFAULT_GOMP_SPINCOUNT });
  });
  it("leaves an operator's choice alone", () => {
    expect(ompWaitDefaults({ OMP_WAIT_POLICY: "active" })).toEqual({});
    expect(ompWaitDefaults({ GOMP_SPINCOUNT: "infinite" })).toEqual({});
  });
});

// In a fresh process, because libgomp reads the environment once per process, when the kernel library loads.
const cEnvAfterLoad = (env: Record<string, string>) => {
  const script = `
    import { dlopen, FFIType, CString } from "bun:ffi";
    import { createBackend } from ${JSON.stringify(join(repoRoot, "ffi/backend.ts"))};
    createBackend("cpu", { skipSelfTest: true });
    const libc = dlopen("libc.so.6", { getenv: { args: [FFIType.cstring], returns: FFIType.ptr } });
    const p = libc.symbols.getenv(Buffer.from("GOMP_SPINCOUNT\\0"));
    console.log(p ? new CString(p).toString() : "(unset)");`;
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== "GOMP_SPINCOUNT" && k !== "OMP_WAIT_POLICY"),
  );
  return execFileSync(bunBin, ["-e", script], { env: { ...clean, ...env }, encoding: "utf8" }).trim();
};

describe.runIf(process.platform === "linux")("the CPU backend's process", () => {
  it("has GOMP_SPINCOUNT in its C environment once the kernels are loaded", () => {
    expect(cEnvAfterLoad({})).toBe(DEFAULT_GOMP_SPINCOUNT);
  });
  it("keeps the operator's GOMP_SPINCOUNT", () => {
    expect(cEnvAfterLoad({ GOMP_SPINCOUNT: "123" })).toBe("123");
  });
  it("sets nothing when the operator chose OMP_WAIT_POLICY", () => {
    expect(cEnvAfterLoad({ OMP_WAIT_POLICY: "passive" })).toBe("(unset)");
  });
});
