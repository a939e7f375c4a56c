// ffi/native-env.ts: what it sets is what native code's getenv reads (Bun's process.env never reaches it),
// and the variable is gone again after withNativeEnv.
import { CString, dlopen, FFIType } from "bun:ffi";
import { describe, expect, it } from "vitest";
import { setNativeEnv, withNativeEnv } from "../../ffi/native-env.ts";

const libc = dlopen("libc.so.6", { getenv: { args: [FFIType.cstring], returns: FFIType.ptr } });
const nativeGet = (name: string) => {
  const p = libc.symbols.getenv(Buffer.from(`${name}\0`));
  return p ? new CString(p).toString() : null;
};

describe("native environment switches", () => {
  it("sets, scopes and removes a variable in the C environment", () => {
    const name = "GUST_TEST_NATIVE_ENV";
    expect(nativeGet(name)).toBe(null);
    expect(withNativeEnv(name, "flash", () => nativeGet(name))).toBe("flash");
    expect(nativeGet(name)).toBe(null);
    setNativeEnv(name, "x");
    expect(nativeGet(name)).toBe("x");
    setNativeEnv(name, null);
    expect(nativeGet(name)).toBe(null);
  });
});
