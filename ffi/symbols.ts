// The native ABI (kernels/gust.h) as data: one entry per exported symbol. Runtime-neutral so a Deno
// binder could read the same table; the Bun binder maps these type names onto bun:ffi's.
// Keep in the same order and with the same argument lists as the header.

export type NativeType = "ptr" | "i32" | "u64" | "f32" | "f64" | "cstring" | "void";

export interface SymbolSpec {
  readonly args: readonly NativeType[];
  readonly returns: NativeType;
}

export const GUST_ABI_VERSION = 8;

/** gust_sample's and gust_verify_drafts' shared lists: bias ids, bias values, count ids, counts, seen ids, masks. */
const SAMPLE_LISTS = ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr"] as const;

export const symbols = {
  gust_abi_version: { args: [], returns: "i32" },
  gust_backend_name: { args: [], returns: "cstring" },
  gust_last_error: { args: [], returns: "cstring" },
  gust_init: { args: ["i32"], returns: "i32" },
  gust_num_threads: { args: [], returns: "i32" },
  gust_cpu_features: { args: [], returns: "i32" },
  gust_cpu_use_features: { args: ["i32"], returns: "i32" },

  gust_alloc: { args: ["u64", "ptr"], returns: "i32" },
  gust_free: { args: ["ptr"], returns: "i32" },
  gust_upload: { args: ["ptr", "u64", "ptr", "u64"], returns: "i32" },
  gust_download: { args: ["ptr", "ptr", "u64", "u64"], returns: "i32" },
  gust_copy: { args: ["ptr", "u64", "ptr", "u64", "u64"], returns: "i32" },
  gust_synchronize: { args: [], returns: "i32" },
  gust_read_probe: { args: ["ptr", "u64", "ptr"], returns: "i32" },
  gust_memory_info: { args: ["ptr", "ptr"], returns: "i32" },

  gust_fill_random: { args: ["ptr", "u64", "i32", "i32", "i32", "u64", "f32", "f32"], returns: "i32" },

  gust_fp8_quantize: { args: ["ptr", "ptr", "u64", "f32"], returns: "i32" },
  gust_fp8_dequantize: { args: ["ptr", "ptr", "u64", "f32"], returns: "i32" },

  gust_embed: { args: ["ptr", "ptr", "i32", "ptr", "i32", "i32", "i32"], returns: "i32" },
  gust_linear: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "f32", "f32"], returns: "i32" },
  gust_rmsnorm: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32", "f32"], returns: "i32" },
  gust_rope: { args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
  gust_query_scale: { args: ["ptr", "ptr", "i32", "i32", "f32", "i32"], returns: "i32" },
  gust_kv_write: {
    args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "i32", "f32", "f32"],
    returns: "i32",
  },
  gust_attention: {
    args: [
      "ptr",
      "ptr",
      "ptr",
      "ptr",
      "ptr",
      "ptr",
      "ptr",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "i32",
      "f32",
      "f32",
    ],
    returns: "i32",
  },
  gust_silu_mul: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  gust_add: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  gust_argmax: { args: ["ptr", "ptr", "i32", "i32"], returns: "i32" },
  gust_gather_rows: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },

  gust_sample: {
    args: ["ptr", "ptr", "ptr", "ptr", "i32", "i32", "ptr", "i32", ...SAMPLE_LISTS, "i32", "i32"],
    returns: "i32",
  },
  gust_sample_weights: { args: ["ptr", "ptr", "ptr", "i32", "i32", "f64"], returns: "i32" },
  gust_verify_drafts: {
    args: ["ptr", "ptr", "ptr", "i32", "i32", "ptr", "i32", ...SAMPLE_LISTS, "i32", "ptr", "i32", "ptr", "ptr", "i32"],
    returns: "i32",
  },

  gust_gelu: { args: ["ptr", "ptr", "u64"], returns: "i32" },
  gust_scatter_rows: { args: ["ptr", "ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  gust_step: { args: ["ptr"], returns: "i32" },
  gust_launch_count: { args: ["ptr"], returns: "i32" },
  gust_segment_attention: {
    args: ["ptr", "ptr", "ptr", "ptr", "ptr", "i32", "i32", "i32", "i32", "i32", "f32"],
    returns: "i32",
  },

  gust_comm_unique_id: { args: ["ptr"], returns: "i32" },
  gust_comm_device_count: { args: ["ptr"], returns: "i32" },
  gust_comm_init: { args: ["ptr", "ptr", "i32", "i32", "i32"], returns: "i32" },
  gust_comm_all_reduce_sum: { args: ["ptr", "ptr", "u64"], returns: "i32" },
  gust_comm_all_gather: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i32" },
  gust_comm_broadcast: { args: ["ptr", "ptr", "u64", "i32"], returns: "i32" },
  gust_comm_barrier: { args: ["ptr"], returns: "i32" },
  gust_comm_destroy: { args: ["ptr"], returns: "i32" },
} as const satisfies Record<string, SymbolSpec>;

export type SymbolName = keyof typeof symbols;

/** Bytes of a communicator id (GUST_COMM_ID_BYTES). */
export const COMM_ID_BYTES = 128;

/** Element types shared with the header's gust_dtype enum. */
export const DType = { F32: 0, F16: 1, BF16: 2, F8_E4M3: 3, I32: 4, U8: 5 } as const;
export type DType = (typeof DType)[keyof typeof DType];

export const dtypeBytes: Record<DType, number> = { 0: 4, 1: 2, 2: 2, 3: 1, 4: 4, 5: 1 };

export const Status = { OK: 0, INVALID_ARGUMENT: 1, OUT_OF_MEMORY: 2, UNSUPPORTED: 3, DEVICE: 4 } as const;
export const statusNames = ["ok", "invalid argument", "out of memory", "unsupported", "device error"];
