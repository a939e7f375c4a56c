// Sets an environment variable in the C library's environment, which the native kernels read with getenv:
// Bun's process.env is a JavaScript copy that native code never sees. Tests and lab benchmarks use it to force per-call kernel switches
// (GUST_CUDA_ATTENTION=flash) from inside a test process.
import { dlopen, FFIType } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  setenv: { args: [FFIType.cstring, FFIType.cstring, FFIType.i32], returns: FFIType.i32 },
  unsetenv: { args: [FFIType.cstring], returns: FFIType.i32 },
});

const cstr = (s: string) => Buffer.from(`${s}\0`);

/** Sets `name` to `value` for native code, or removes it when `value` is null. */
export function setNativeEnv(name: string, value: string | null): void {
  const rc = value === null ? libc.symbols.unsetenv(cstr(name)) : libc.symbols.setenv(cstr(name), cstr(value), 1);
  if (rc !== 0) throw new Error(`setting ${name} in the C environment failed (rc ${rc})`);
}

/** Runs fn with `name` set to `value` for native code, restoring the absence afterwards. */
export function withNativeEnv<T>(name: string, value: string, fn: () => T): T {
  setNativeEnv(name, value);
  try {
    return fn();
  } finally {
    setNativeEnv(name, null);
  }
}
