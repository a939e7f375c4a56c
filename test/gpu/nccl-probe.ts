// Calls gust_comm_unique_id of libgust_cuda.so (no GPU needed: NCCL is loaded before any device work) and
// prints {status, error} as JSON. Run by nccl-loader.test.ts with GUST_NCCL_LIBRARY set.
import { dlopen, FFIType } from "bun:ffi";

const lib = dlopen(process.argv[2], {
  gust_comm_unique_id: { args: [FFIType.ptr], returns: FFIType.i32 },
  gust_last_error: { args: [], returns: FFIType.cstring },
});
const status = lib.symbols.gust_comm_unique_id(new Uint8Array(128));
process.stdout.write(JSON.stringify({ status, error: String(lib.symbols.gust_last_error()) }));
