// Opens a kernel library with bun:ffi using the runtime-neutral symbol table.
import { dlopen, type FFIFunction } from "bun:ffi";
import { type NativeType, type SymbolName, symbols } from "./symbols.ts";

const bunTypes: Record<NativeType, string> = {
  ptr: "ptr",
  i32: "i32",
  u64: "u64",
  f32: "f32",
  f64: "f64",
  cstring: "cstring",
  void: "void",
};

// bun:ffi's generics cannot follow our table's literal types, so calls are typed loosely here and
// strictly one level up (backend.ts), which is the only caller.
export type NativeFunction = (...args: unknown[]) => unknown;
export type NativeSymbols = Record<SymbolName, NativeFunction>;

export interface NativeLibrary {
  readonly path: string;
  readonly symbols: NativeSymbols;
  close(): void;
}

export function openLibrary(path: string): NativeLibrary {
  const spec: Record<string, FFIFunction> = {};
  for (const [name, s] of Object.entries(symbols)) {
    spec[name] = { args: s.args.map((t) => bunTypes[t]), returns: bunTypes[s.returns] } as FFIFunction;
  }
  let lib;
  try {
    lib = dlopen(path, spec);
  } catch (err) {
    throw new Error(
      `Cannot load native library ${path}: ${(err as Error).message}. Rebuild it with \`npm run build\`.`,
    );
  }
  return { path, symbols: lib.symbols as unknown as NativeSymbols, close: () => lib.close() };
}
