/* Device memory, transfers, synchronisation and the bandwidth probe for the CUDA backend.
 *
 * Allocation: every gust_alloc is a cudaMallocAsync from the device's default stream-ordered memory pool,
 * whose release threshold gust_init raises to "never", so the pool grows to the working set once and then
 * serves later allocations without reaching the driver. Frees are stream-ordered too (cudaFreeAsync), which
 * makes it safe for the host to dispose a buffer that queued kernels still read: the memory returns to
 * the pool only after they ran. One cudaMalloc per buffer would make each free a device-wide
 * synchronisation instead; one hand-rolled arena would need a free-list allocator of our own. */
#include <string.h>

#include "common.cuh"

cudaError_t gust_device_malloc(void **p, size_t bytes) {
  return g_cuda.pool ? cudaMallocAsync(p, bytes, g_cuda.stream) : cudaMalloc(p, bytes);
}

/* Without a pool, cudaFree waits for the device first, which keeps it safe for buffers queued work reads. */
cudaError_t gust_device_free(void *p) { return g_cuda.pool ? cudaFreeAsync(p, g_cuda.stream) : cudaFree(p); }

static void *scratch_ptr = NULL;
static size_t scratch_bytes = 0;
static int32_t *counters_ptr = NULL;
static size_t counters_count = 0;

/* A recorded graph holds the scratch's address: it may not move under it (step_graph.cu warms up first). */
static int32_t before_growing(const char *op, const char *what) {
  if (g_cuda.capturing)
    return gust_fail(GUST_ERR_DEVICE, "%s: %s would grow while a decode step is recorded as a CUDA graph", op, what);
  g_cuda.scratch_generation++;
  return GUST_OK;
}

int32_t gust_scratch(const char *op, size_t bytes, void **out) {
  if (bytes > scratch_bytes) {
    GUST_TRY(before_growing(op, "scratch"));
    size_t grow = scratch_bytes * 2 > bytes ? scratch_bytes * 2 : bytes;
    if (scratch_ptr) GUST_CUDA_TRY(op, "freeing scratch", gust_device_free(scratch_ptr));
    scratch_ptr = NULL;
    scratch_bytes = 0;
    GUST_CUDA_TRY(op, "allocating scratch", gust_device_malloc(&scratch_ptr, grow));
    scratch_bytes = grow;
  }
  *out = scratch_ptr;
  return GUST_OK;
}

int32_t gust_counters(const char *op, size_t count, int32_t **out) {
  if (count > counters_count) {
    GUST_TRY(before_growing(op, "the counters"));
    size_t grow = counters_count * 2 > count ? counters_count * 2 : count;
    if (counters_ptr) GUST_CUDA_TRY(op, "freeing counters", gust_device_free(counters_ptr));
    counters_ptr = NULL;
    counters_count = 0;
    GUST_CUDA_TRY(op, "allocating counters", gust_device_malloc((void **)&counters_ptr, grow * sizeof(int32_t)));
    GUST_CUDA_TRY(op, "cudaMemsetAsync (counters)", cudaMemsetAsync(counters_ptr, 0, grow * sizeof(int32_t), g_cuda.stream));
    counters_count = grow;
  }
  *out = counters_ptr;
  return GUST_OK;
}

extern "C" {

int32_t gust_alloc(uint64_t num_bytes, void **out_buffer) {
  GUST_REQUIRE(out_buffer != NULL, "gust_alloc: out_buffer is NULL");
  GUST_TRY(gust_require_init("gust_alloc"));
  size_t rounded = (size_t)((num_bytes + 63) / 64 * 64);
  if (rounded == 0) rounded = 64; /* a zero-byte buffer still gets a unique, freeable address */
  void *p = NULL;
  cudaError_t err = gust_device_malloc(&p, rounded);
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total = 0;
    cudaMemGetInfo(&free_bytes, &total);
    return gust_fail(err == cudaErrorMemoryAllocation ? GUST_ERR_OUT_OF_MEMORY : GUST_ERR_DEVICE,
                     "gust_alloc: cannot allocate %llu bytes of GPU memory (%s; %.2f of %.2f GiB free on the device)",
                     (unsigned long long)num_bytes, cudaGetErrorString(err), free_bytes / 1073741824.0, total / 1073741824.0);
  }
  if (((uintptr_t)p & 63) != 0) {
    gust_device_free(p);
    return gust_fail(GUST_ERR_DEVICE, "gust_alloc: the CUDA allocator returned %p, which is not 64-byte aligned as the ABI promises", p);
  }
  GUST_CUDA_TRY("gust_alloc", "cudaMemsetAsync", cudaMemsetAsync(p, 0, rounded, g_cuda.stream));
  *out_buffer = p;
  return GUST_OK;
}

int32_t gust_free(void *buffer) {
  if (buffer == NULL) return GUST_OK;
  GUST_TRY(gust_require_init("gust_free"));
  GUST_CUDA_TRY("gust_free", "freeing device memory", gust_device_free(buffer));
  return GUST_OK;
}

/* From pageable host memory the copy returns once the source has been staged, so the caller may reuse
 * its array right away, as with the CPU backend. */
int32_t gust_upload(void *dst, uint64_t dst_offset, const void *src, uint64_t num_bytes) {
  GUST_REQUIRE(dst && (src || num_bytes == 0), "gust_upload: NULL pointer");
  GUST_TRY(gust_require_init("gust_upload"));
  if (num_bytes == 0) return GUST_OK;
  GUST_CUDA_TRY("gust_upload", "cudaMemcpyAsync host→device",
                cudaMemcpyAsync((uint8_t *)dst + dst_offset, src, num_bytes, cudaMemcpyHostToDevice, g_cuda.stream));
  return GUST_OK;
}

/* Synchronous by contract: the host reads dst right after; deferred index errors surface here too. */
int32_t gust_download(void *dst, const void *src, uint64_t src_offset, uint64_t num_bytes) {
  GUST_REQUIRE(src && (dst || num_bytes == 0), "gust_download: NULL pointer");
  GUST_TRY(gust_require_init("gust_download"));
  if (num_bytes > 0)
    GUST_CUDA_TRY("gust_download", "cudaMemcpyAsync device→host",
                  cudaMemcpyAsync(dst, (const uint8_t *)src + src_offset, num_bytes, cudaMemcpyDeviceToHost, g_cuda.stream));
  return gust_sync_and_check("gust_download");
}

/* memmove semantics like the CPU backend: overlapping ranges go through scratch, since a device-to-device
 * cudaMemcpy of overlapping ranges is undefined. */
int32_t gust_copy(void *dst, uint64_t dst_offset, const void *src, uint64_t src_offset, uint64_t num_bytes) {
  GUST_REQUIRE(dst && src, "gust_copy: NULL pointer");
  GUST_TRY(gust_require_init("gust_copy"));
  if (num_bytes == 0) return GUST_OK;
  uint8_t *d = (uint8_t *)dst + dst_offset;
  const uint8_t *s = (const uint8_t *)src + src_offset;
  if (d == s) return GUST_OK;
  bool overlap = d < s + num_bytes && s < d + num_bytes;
  if (overlap) {
    void *tmp = NULL;
    GUST_TRY(gust_scratch("gust_copy", num_bytes, &tmp));
    GUST_CUDA_TRY("gust_copy", "cudaMemcpyAsync (to scratch)", cudaMemcpyAsync(tmp, s, num_bytes, cudaMemcpyDeviceToDevice, g_cuda.stream));
    s = (const uint8_t *)tmp;
  }
  GUST_CUDA_TRY("gust_copy", "cudaMemcpyAsync device→device", cudaMemcpyAsync(d, s, num_bytes, cudaMemcpyDeviceToDevice, g_cuda.stream));
  return GUST_OK;
}

int32_t gust_synchronize(void) {
  GUST_TRY(gust_require_init("gust_synchronize"));
  return gust_sync_and_check("gust_synchronize");
}

} /* extern "C" */

/* Sum of all 32-bit words as floats, accumulated in double like the CPU probe. Grid-stride over 16-byte
 * loads with four independent loads in flight per thread, then a warp and block reduction and one atomic
 * per block. Example: 1,000,003 words → 250,000 float4 loads in the main loop, words 1,000,000..1,000,002
 * by the tail loop. */
__global__ void read_probe_kernel(const float *__restrict__ words, uint64_t n, double *__restrict__ total) {
  const float4 *v = (const float4 *)words;
  uint64_t nv = n / 4, stride = (uint64_t)gridDim.x * blockDim.x;
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  double acc = 0.0;
  for (; i + 3 * stride < nv; i += 4 * stride) {
    float4 a = __ldcs(v + i), b = __ldcs(v + i + stride), c = __ldcs(v + i + 2 * stride), d = __ldcs(v + i + 3 * stride);
    acc += ((double)a.x + a.y + a.z + a.w) + ((double)b.x + b.y + b.z + b.w) + ((double)c.x + c.y + c.z + c.w) +
           ((double)d.x + d.y + d.z + d.w);
  }
  for (; i < nv; i += stride) {
    float4 a = __ldcs(v + i);
    acc += (double)a.x + a.y + a.z + a.w;
  }
  if (blockIdx.x == 0 && threadIdx.x < n % 4) acc += words[nv * 4 + threadIdx.x];
  for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  __shared__ double warp_sums[32];
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0.0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) s += warp_sums[w];
    atomicAdd(total, s);
  }
}

extern "C" int32_t gust_memory_info(void *out_free_u64, void *out_total_u64) {
  GUST_REQUIRE(out_free_u64 && out_total_u64, "gust_memory_info: NULL pointer");
  GUST_TRY(gust_require_init("gust_memory_info"));
  size_t free_bytes = 0, total_bytes = 0;
  GUST_CUDA_TRY("gust_memory_info", "cudaMemGetInfo", cudaMemGetInfo(&free_bytes, &total_bytes));
  const uint64_t f = free_bytes, t = total_bytes;
  memcpy(out_free_u64, &f, 8);
  memcpy(out_total_u64, &t, 8);
  return GUST_OK;
}

extern "C" int32_t gust_read_probe(const void *buffer, uint64_t num_bytes, void *out_checksum_f32) {
  GUST_REQUIRE(buffer && out_checksum_f32, "gust_read_probe: NULL pointer");
  GUST_TRY(gust_require_init("gust_read_probe"));
  void *scratch = NULL;
  GUST_TRY(gust_scratch("gust_read_probe", sizeof(double), &scratch));
  double *total = (double *)scratch;
  GUST_CUDA_TRY("gust_read_probe", "cudaMemsetAsync", cudaMemsetAsync(total, 0, sizeof(double), g_cuda.stream));
  uint64_t n = num_bytes / 4;
  unsigned blocks = gust_blocks_for(n / 4 + 1, 256, (unsigned)g_cuda.sm_count * 8);
  read_probe_kernel<<<blocks, 256, 0, g_cuda.stream>>>((const float *)buffer, n, total);
  GUST_TRY(gust_after_launch("gust_read_probe"));
  double host_total = 0.0;
  GUST_CUDA_TRY("gust_read_probe", "cudaMemcpyAsync (checksum)",
                cudaMemcpyAsync(&host_total, total, sizeof(double), cudaMemcpyDeviceToHost, g_cuda.stream));
  GUST_TRY(gust_sync_and_check("gust_read_probe"));
  float result = (float)host_total;
  memcpy(out_checksum_f32, &result, 4);
  return GUST_OK;
}
