/* Library identity, initialisation, last error and deferred index-error reporting for the CUDA backend. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../spec_verify_core.h"
#include "common.cuh"

GustCudaState g_cuda = {};
static thread_local char last_error[768];

int32_t gust_fail(int32_t status, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, args);
  va_end(args);
  return status;
}

int32_t gust_cuda_fail(const char *op, const char *what, cudaError_t err) {
  cudaGetLastError(); /* clear a non-sticky error so the next call starts clean */
  if (err == cudaErrorMemoryAllocation)
    return gust_fail(GUST_ERR_OUT_OF_MEMORY, "%s: %s: out of GPU memory (%s); free buffers or lower the KV cache size",
                     op, what, cudaGetErrorString(err));
  return gust_fail(GUST_ERR_DEVICE, "%s: %s failed: %s (%s)", op, what, cudaGetErrorName(err), cudaGetErrorString(err));
}

extern "C" {

int32_t gust_abi_version(void) { return GUST_ABI_VERSION; }
const char *gust_backend_name(void) { return "cuda"; }
const char *gust_last_error(void) { return last_error; }
/* One host thread drives the GPU; the CPU backend's thread count has no meaning here. */
int32_t gust_num_threads(void) { return 1; }
int32_t gust_cpu_features(void) { return 0; }
int32_t gust_cpu_use_features(int32_t mask) {
  (void)mask;
  return GUST_OK;
}

/* GUST_CUDA_GEMM picks the FP8 GEMM for more than a few tokens: unset or "mma" (the tested default), or "wgmma"
 * (linear_wgmma.cu, not yet run on hardware), which needs Hopper's sm_90a instructions. */
static int32_t choose_gemm(const cudaDeviceProp &prop) {
  const char *v = getenv("GUST_CUDA_GEMM");
  g_cuda.gemm_wgmma = v != NULL && strcmp(v, "wgmma") == 0;
  if (v != NULL && *v != '\0' && !g_cuda.gemm_wgmma && strcmp(v, "mma") != 0)
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "GUST_CUDA_GEMM=%s is not one of mma (the default) or wgmma (FP8 on sm_90)", v);
  if (g_cuda.gemm_wgmma && !(prop.major == 9 && prop.minor == 0))
    return gust_fail(GUST_ERR_DEVICE, "GUST_CUDA_GEMM=wgmma needs an sm_90 GPU (H100/H200); %s has compute capability "
                     "%d.%d: unset GUST_CUDA_GEMM", prop.name, prop.major, prop.minor);
  return GUST_OK;
}

/* Keeps freed device memory in the stream-ordered pool instead of returning it to the driver at every
 * synchronisation: the pool then is the "one pool" that grows to the working set and is reused. An
 * optional GUST_CUDA_RESERVE_BYTES grows it once at start so later allocations never reach the driver. */
static int32_t setup_pool(int device) {
  int supported = 0;
  GUST_CUDA_TRY("gust_init", "querying memory-pool support",
                cudaDeviceGetAttribute(&supported, cudaDevAttrMemoryPoolsSupported, device));
  g_cuda.pool = supported != 0;
  if (!g_cuda.pool) return GUST_OK; /* e.g. some virtualised drivers: fall back to cudaMalloc per buffer */
  cudaMemPool_t pool;
  GUST_CUDA_TRY("gust_init", "cudaDeviceGetDefaultMemPool", cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t keep_all = UINT64_MAX;
  GUST_CUDA_TRY("gust_init", "setting the memory pool's release threshold",
                cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
  const char *reserve = getenv("GUST_CUDA_RESERVE_BYTES");
  if (reserve != NULL) {
    unsigned long long bytes = strtoull(reserve, NULL, 10);
    if (bytes > 0) {
      void *p = NULL;
      GUST_CUDA_TRY("gust_init", "reserving GUST_CUDA_RESERVE_BYTES in the memory pool",
                    cudaMallocAsync(&p, (size_t)bytes, g_cuda.stream));
      GUST_CUDA_TRY("gust_init", "returning the reservation to the pool", cudaFreeAsync(p, g_cuda.stream));
      GUST_CUDA_TRY("gust_init", "waiting for the reservation", cudaStreamSynchronize(g_cuda.stream));
    }
  }
  return GUST_OK;
}

int32_t gust_init(int32_t num_threads) {
  (void)num_threads;
  if (g_cuda.ready) return GUST_OK; /* idempotent: the ffi may open the library more than once */
  last_error[0] = 0;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    const char *why = err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice
                          ? "no NVIDIA driver or GPU is visible to this process"
                          : "the CUDA runtime could not enumerate devices";
    return gust_fail(GUST_ERR_DEVICE, "no CUDA device: cudaGetDeviceCount returned %d devices, %s (%s); %s; use --backend cpu",
                     count, cudaGetErrorName(err), cudaGetErrorString(err), why);
  }
  int device = 0;
  const char *pick = getenv("GUST_CUDA_DEVICE");
  if (pick != NULL) device = atoi(pick);
  if (device < 0 || device >= count)
    return gust_fail(GUST_ERR_DEVICE, "GUST_CUDA_DEVICE=%s names no device: this machine has %d CUDA devices (0..%d)",
                     pick, count, count - 1);
  cudaDeviceProp prop;
  GUST_CUDA_TRY("gust_init", "cudaGetDeviceProperties", cudaGetDeviceProperties(&prop, device));
  /* the library holds sm_80 and sm_90a machine code only (no PTX to JIT): 8.x GPUs (A100, A10, L40) run the
   * sm_80 code, 9.0 (H100/H200) the sm_90a code; any other GPU could not run a kernel */
  if (prop.major != 8 && !(prop.major == 9 && prop.minor == 0))
    return gust_fail(GUST_ERR_DEVICE,
                     "device %d (%s) has compute capability %d.%d, but libgust_cuda.so is built for sm_80 (8.x: "
                     "A100) and sm_90a (9.0: H100/H200) only; use --backend cpu or rebuild kernels/cuda for this GPU",
                     device, prop.name, prop.major, prop.minor);
  GUST_CUDA_TRY("gust_init", "cudaSetDevice", cudaSetDevice(device));
  GUST_CUDA_TRY("gust_init", "cudaStreamCreateWithFlags",
                cudaStreamCreateWithFlags(&g_cuda.stream, cudaStreamNonBlocking));
  g_cuda.device = device;
  g_cuda.sm_count = prop.multiProcessorCount;
  g_cuda.max_smem_optin = (int)prop.sharedMemPerBlockOptin;
  GUST_TRY(setup_pool(device));

  void *detail = NULL;
  GUST_CUDA_TRY("gust_init", "cudaHostAlloc (error record)", cudaHostAlloc(&detail, sizeof(GustErrorDetail), cudaHostAllocMapped));
  memset(detail, 0, sizeof(GustErrorDetail));
  g_cuda.detail_host = (GustErrorDetail *)detail;
  void *detail_dev = NULL;
  GUST_CUDA_TRY("gust_init", "cudaHostGetDevicePointer", cudaHostGetDevicePointer(&detail_dev, detail, 0));
  g_cuda.errors.detail = (GustErrorDetail *)detail_dev;
  GUST_CUDA_TRY("gust_init", "cudaMalloc (error flag)", cudaMalloc((void **)&g_cuda.errors.claimed, sizeof(int32_t)));
  GUST_CUDA_TRY("gust_init", "cudaMemset (error flag)", cudaMemset(g_cuda.errors.claimed, 0, sizeof(int32_t)));

  g_cuda.sync_checks = gust_env_is("GUST_CUDA_SYNC_CHECKS", "1");
  g_cuda.naive_kernels = gust_env_is("GUST_CUDA_KERNELS", "naive");
  GUST_TRY(choose_gemm(prop));
  g_cuda.ready = true;
  return GUST_OK;
}

} /* extern "C" */

int32_t gust_require_init(const char *op) {
  if (g_cuda.ready) return GUST_OK;
  return gust_fail(GUST_ERR_DEVICE, "%s: the CUDA backend is not initialised (gust_init failed or was not called)", op);
}

/* Formats a recorded violation exactly as the CPU backend words it, plus where it was found. */
static int32_t report_detail(const GustErrorDetail *d) {
  const long long *v = d->v;
  char text[512];
  switch (d->check) {
    case GUST_CHECK_EMBED_ID:
      snprintf(text, sizeof text, "gust_embed: token id %lld at row %lld is outside the vocabulary [0, %lld)", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_ROPE_POSITION:
      snprintf(text, sizeof text, "gust_rope: position %lld at row %lld is outside the rotary table [0, %lld)", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_QSCALE_POSITION:
      snprintf(text, sizeof text, "gust_query_scale: negative position %lld at row %lld", v[0], v[1]);
      break;
    case GUST_CHECK_KV_SLOT:
      snprintf(text, sizeof text, "gust_kv_write: slot %lld of row %lld is outside [-1, %lld)", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_GATHER_ROW:
      snprintf(text, sizeof text, "gust_gather_rows: row %lld is outside [0, %lld)", v[0], v[1]);
      break;
    case GUST_CHECK_SCATTER_ROW:
      snprintf(text, sizeof text, "gust_scatter_rows: destination row %lld (source row %lld) is outside [0, %lld)", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_ATTN_STARTS:
      snprintf(text, sizeof text, "gust_attention: query_starts must run from 0 to num_tokens %lld, got %lld..%lld", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_ATTN_DECREASES:
      snprintf(text, sizeof text, "gust_attention: query_starts decreases at sequence %lld", v[0]);
      break;
    case GUST_CHECK_ATTN_CONTEXT:
      snprintf(text, sizeof text, "gust_attention: sequence %lld has %lld query rows but only %lld cached tokens", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_ATTN_TABLE:
      snprintf(text, sizeof text, "gust_attention: sequence %lld needs %lld blocks, its table holds %lld", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_ATTN_BLOCK_ID:
      snprintf(text, sizeof text, "gust_attention: sequence %lld block %lld is %lld, outside [0, %lld)", v[0], v[1], v[2], v[3]);
      break;
    case GUST_CHECK_SEG_STARTS:
      snprintf(text, sizeof text, "gust_segment_attention: segment_starts must run from 0 to num_tokens %lld, got %lld..%lld", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_SEG_DECREASES:
      snprintf(text, sizeof text, "gust_segment_attention: segment_starts decreases at segment %lld (%lld then %lld)", v[0], v[1], v[2]);
      break;
    case GUST_CHECK_SAMPLE_ROW:
      snprintf(text, sizeof text, "gust_sample: row %lld: %s", v[0], gust_sample_problem_text((int)v[1]));
      break;
    case GUST_CHECK_VERIFY_PROPOSAL:
      snprintf(text, sizeof text, "gust_verify_drafts: proposal %lld: %s", v[0], gust_verify_problem_text((int)v[1]));
      break;
    default:
      snprintf(text, sizeof text, "a kernel reported index check %d with values %lld %lld %lld %lld", d->check, v[0], v[1], v[2], v[3]);
  }
  return gust_fail(GUST_ERR_INVALID_ARGUMENT, "%s (found on the GPU%s)", text,
                   g_cuda.sync_checks ? "" : "; reported at the next synchronizing call, so outputs written since are unspecified");
}

int32_t gust_sync_and_check(const char *op) {
  cudaError_t err = cudaStreamSynchronize(g_cuda.stream);
  if (err != cudaSuccess)
    return gust_fail(GUST_ERR_DEVICE,
                     "%s: the GPU failed while running earlier work: %s (%s); the CUDA context is now unusable, restart "
                     "the process (GUST_CUDA_SYNC_CHECKS=1 makes each call wait so the failing one names itself)",
                     op, cudaGetErrorName(err), cudaGetErrorString(err));
  GustErrorDetail *d = g_cuda.detail_host;
  if (d->ready) {
    GustErrorDetail copy = *(const GustErrorDetail *)d;
    d->ready = 0;
    /* re-arm the claim flag in stream order, after everything that could still have raced for it */
    GUST_CUDA_TRY(op, "cudaMemsetAsync (error flag)", cudaMemsetAsync(g_cuda.errors.claimed, 0, sizeof(int32_t), g_cuda.stream));
    return report_detail(&copy);
  }
  return GUST_OK;
}

int32_t gust_after_launch(const char *op) {
  g_cuda.launches++;
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return gust_cuda_fail(op, "kernel launch", err);
  if (g_cuda.sync_checks) return gust_sync_and_check(op);
  return GUST_OK;
}
