/* Shared state and helpers of the CUDA backend; not part of the ABI.
 *
 * One process-wide CUDA stream carries every kernel and copy, so ABI calls are ordered exactly as the
 * host issues them (the same program order the CPU backend has) without any explicit events. Host-visible
 * results appear only at the calls the ABI makes synchronous: gust_download, gust_synchronize and
 * gust_read_probe.
 *
 * Index arrays (token ids, positions, slots, block tables) live in device memory, so kernels validate
 * them on the GPU. A kernel that finds a bad index skips it and records the first violation in a device
 * error record; the record is read at the next synchronizing call, which then fails with the same message
 * the CPU backend gives (plus a note that it was found on the GPU). GUST_CUDA_SYNC_CHECKS=1 makes every
 * launch that validates indices synchronize and report right away, as the CPU backend does. */
#ifndef GUST_CUDA_COMMON_CUH
#define GUST_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../gust.h"

/* ---- errors --------------------------------------------------------------------------------------- */
/* Records a printf-style message as the thread's last error and returns status (as the CPU backend). */
int32_t gust_fail(int32_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A CUDA runtime error as a gust status: out of memory stays out of memory, the rest is a device error. */
int32_t gust_cuda_fail(const char *op, const char *what, cudaError_t err);

#define GUST_REQUIRE(cond, ...)                                             \
  do {                                                                      \
    if (!(cond)) return gust_fail(GUST_ERR_INVALID_ARGUMENT, __VA_ARGS__);  \
  } while (0)

#define GUST_CUDA_TRY(op, what, call)                  \
  do {                                                 \
    cudaError_t err_ = (call);                         \
    if (err_ != cudaSuccess) return gust_cuda_fail(op, what, err_); \
  } while (0)

#define GUST_TRY(call)                       \
  do {                                       \
    int32_t status_ = (call);                \
    if (status_ != GUST_OK) return status_;  \
  } while (0)

/* Kinds of index violation a kernel can report; common.cu turns each into the CPU backend's message. */
enum GustCheck {
  GUST_CHECK_NONE = 0,
  GUST_CHECK_EMBED_ID,        /* v: id, row, vocab */
  GUST_CHECK_ROPE_POSITION,   /* v: position, row, table_len */
  GUST_CHECK_QSCALE_POSITION, /* v: position, row */
  GUST_CHECK_KV_SLOT,         /* v: slot, row, num_slots */
  GUST_CHECK_GATHER_ROW,      /* v: row, num_src_rows */
  GUST_CHECK_SCATTER_ROW,     /* v: destination row, source row, num_dst_rows */
  GUST_CHECK_ATTN_STARTS,     /* v: num_tokens, first, last */
  GUST_CHECK_ATTN_DECREASES,  /* v: sequence */
  GUST_CHECK_ATTN_CONTEXT,    /* v: sequence, rows, context */
  GUST_CHECK_ATTN_TABLE,      /* v: sequence, blocks needed, max blocks */
  GUST_CHECK_ATTN_BLOCK_ID,   /* v: sequence, logical block, id, num_blocks */
  GUST_CHECK_SEG_STARTS,      /* v: num_tokens, first, last */
  GUST_CHECK_SEG_DECREASES,   /* v: segment, start, next start */
  GUST_CHECK_SAMPLE_ROW,      /* v: row, problem (kernels/sample_core.h) */
  GUST_CHECK_VERIFY_PROPOSAL  /* v: proposal, problem (kernels/spec_verify_core.h) */
};

/* The details of the first violation, written by the one thread that claims the record. It lives in
 * mapped pinned host memory so the host can read it after a stream synchronisation without a copy; the
 * claim flag lives in device memory because atomics on host memory are not portable across PCIe. */
struct GustErrorDetail {
  volatile int32_t ready;
  int32_t check;
  long long v[4];
};

struct GustDeviceErrors {
  int32_t *claimed;        /* device memory, one int */
  GustErrorDetail *detail; /* device pointer of the mapped host record */
};

__device__ inline void gust_report(GustDeviceErrors errs, int check, long long a, long long b, long long c = 0,
                                   long long d = 0) {
  if (atomicCAS(errs.claimed, 0, 1) != 0) return; /* someone already reported; one message is enough */
  errs.detail->check = check;
  errs.detail->v[0] = a;
  errs.detail->v[1] = b;
  errs.detail->v[2] = c;
  errs.detail->v[3] = d;
  __threadfence_system(); /* details before the flag, as seen from the host */
  errs.detail->ready = 1;
}

/* ---- process state -------------------------------------------------------------------------------- */
struct GustCudaState {
  bool ready;
  int device;
  int sm_count;
  int max_smem_optin; /* bytes of shared memory one block may opt into */
  cudaStream_t stream;
  GustDeviceErrors errors;
  GustErrorDetail *detail_host;
  bool pool;          /* stream-ordered allocator available (else plain cudaMalloc / cudaFree) */
  bool sync_checks;   /* GUST_CUDA_SYNC_CHECKS=1: report index errors at the failing call */
  bool naive_kernels; /* GUST_CUDA_KERNELS=naive: one-thread-per-output reference kernels */
  bool gemm_wgmma;    /* GUST_CUDA_GEMM=wgmma: FP8 linears with T > 4 on the wgmma GEMM (sm_90 only) */
  bool capturing;     /* a step is being recorded as a CUDA graph (step_graph.cu): scratch must not move */
  uint64_t scratch_generation; /* bumped whenever scratch or counters move: graphs recorded before are stale */
  uint64_t launches;  /* kernel launches queued since gust_launch_count last read them */
};
extern GustCudaState g_cuda;

/* Fails with GUST_ERR_DEVICE unless gust_init succeeded; every entry point that touches the GPU calls it. */
int32_t gust_require_init(const char *op);
/* After a kernel launch: reports a launch failure, and in sync-check mode waits and reports index errors. */
int32_t gust_after_launch(const char *op);
/* Waits for the stream, then reports a sticky CUDA error or a recorded index violation (and clears it). */
int32_t gust_sync_and_check(const char *op);

/* Device memory from the stream-ordered pool (or cudaMalloc/cudaFree where pools are unsupported). */
cudaError_t gust_device_malloc(void **p, size_t bytes);
cudaError_t gust_device_free(void *p);

/* Scratch device memory for one ABI call (a single buffer that grows and is reused call after call;
 * safe because every user runs on the one stream). Carve sub-buffers with GustCarve. Growing it (or the
 * counters) bumps g_cuda.scratch_generation; while a graph is recorded growing fails instead. */
int32_t gust_scratch(const char *op, size_t bytes, void **out);
/* Zero-initialised int32 counters that kernels leave zero again when they finish (split-K semaphores). */
int32_t gust_counters(const char *op, size_t count, int32_t **out);

struct GustCarve {
  size_t offset = 0;
  /* Reserves bytes at a 256-byte boundary; call once to size, then again with the base to get pointers. */
  size_t take(size_t bytes) {
    size_t at = (offset + 255) / 256 * 256;
    offset = at + bytes;
    return at;
  }
};

/* ---- small device helpers ------------------------------------------------------------------------- */
__device__ inline float gust_bf16_to_f32(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }

/* IEEE half to float, exact for every code (the hardware conversion is exact too; this keeps the header
 * free of cuda_fp16.h so every translation unit compiles the same way). */
__device__ inline float gust_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  if (exp == 0) {
    float f = (float)mant * 5.9604644775390625e-8f; /* mant · 2^-24, exact */
    return sign ? -f : f;
  }
  uint32_t bits = exp == 31 ? (sign | 0x7F800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  return __uint_as_float(bits);
}

__device__ inline float gust_e4m3_value(uint8_t code) {
  uint32_t sign = (uint32_t)(code & 0x80) << 24, e = (code >> 3) & 0xF, m = code & 7;
  if (e == 0xF && m == 7) return __uint_as_float(0x7FC00000u | sign);
  if (e == 0) {
    float f = (float)m * 0.001953125f; /* m/8 · 2^-6 = m · 2^-9, exact */
    return sign ? -f : f;
  }
  return __uint_as_float(sign | ((e + 120) << 23) | (m << 20)); /* bias 7 → 127 */
}

/* Element i of a weight vector of dtype f32/f16/bf16/e4m3 (dtype validated on the host). */
__device__ inline float gust_load_weight(const void *w, int32_t dtype, int64_t i) {
  switch (dtype) {
    case GUST_DTYPE_F32: return ((const float *)w)[i];
    case GUST_DTYPE_F16: return gust_f16_to_f32(((const uint16_t *)w)[i]);
    case GUST_DTYPE_BF16: return gust_bf16_to_f32(((const uint16_t *)w)[i]);
    default: return gust_e4m3_value(((const uint8_t *)w)[i]);
  }
}

/* Whether environment variable `name` is exactly `value` (the library's kernel switches). */
static inline bool gust_env_is(const char *name, const char *value) {
  const char *v = getenv(name);
  return v != NULL && strcmp(v, value) == 0;
}

static inline bool gust_is_float_dtype(int32_t dtype) {
  return dtype == GUST_DTYPE_F32 || dtype == GUST_DTYPE_F16 || dtype == GUST_DTYPE_BF16;
}

/* The KV cache's storage format (gust.h, "KV cache storage"), checked on the host as the CPU does. */
static inline int32_t gust_check_kv_format(const char *op, int32_t dtype, float k_scale, float v_scale) {
  GUST_REQUIRE(dtype == GUST_DTYPE_F32 || dtype == GUST_DTYPE_BF16 || dtype == GUST_DTYPE_F8_E4M3,
               "%s: kv_dtype %d is not f32 (0), bf16 (2) or f8_e4m3 (3)", op, dtype);
  if (dtype == GUST_DTYPE_F8_E4M3)
    GUST_REQUIRE(k_scale > 0.0f && isfinite(k_scale) && v_scale > 0.0f && isfinite(v_scale),
                 "%s: FP8 KV scales must be positive finite numbers, got k %g v %g", op, (double)k_scale,
                 (double)v_scale);
  return GUST_OK;
}

static inline unsigned gust_blocks_for(uint64_t n, unsigned threads, unsigned cap = 65535u * 32u) {
  uint64_t b = (n + threads - 1) / threads;
  if (b == 0) b = 1;
  return b > cap ? cap : (unsigned)b;
}

#endif
