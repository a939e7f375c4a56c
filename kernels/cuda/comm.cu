/* Tensor-parallel communication for the CUDA backend over NCCL, loaded at run time.
 *
 * The library is opened with dlopen("libnccl.so.2") (GUST_NCCL_LIBRARY overrides the path) the first time a
 * communicator is needed, and the ~10 functions it calls are declared here, so building needs no NCCL
 * headers and libgust_cuda.so has no link dependency on NCCL (vLLM's pynccl wrapper does the same). The
 * declarations follow NCCL's public nccl.h (stable since NCCL 2.0): the enum values below are its ABI.
 * ncclCommInitRank takes ncclUniqueId by value, which bun:ffi cannot pass, so gust_comm_init makes that call.
 * Every collective runs on the library's one stream (g_cuda.stream), in order with the kernels around it,
 * so a later CUDA graph can capture a whole step. NCCL's rendezvous has no timeout of ours: timeout_ms is
 * the CPU backend's; NCCL waits for its peers (NCCL_COMM_BLOCKING / its own socket timeouts apply). */
#include <dlfcn.h>
#include <stdlib.h>

#include "common.cuh"

typedef struct ncclComm *ncclComm_t;
typedef struct {
  char internal[GUST_COMM_ID_BYTES];
} ncclUniqueId;
typedef int ncclResult_t; /* ncclSuccess = 0 */
enum { NCCL_UINT8 = 1, NCCL_FLOAT32 = 7 };
enum { NCCL_SUM = 0 };

struct NcclApi {
  bool loaded;
  const char *(*getErrorString)(ncclResult_t);
  ncclResult_t (*getVersion)(int *);
  ncclResult_t (*getUniqueId)(ncclUniqueId *);
  ncclResult_t (*commInitRank)(ncclComm_t *, int, ncclUniqueId, int);
  ncclResult_t (*commDestroy)(ncclComm_t);
  ncclResult_t (*commAbort)(ncclComm_t);
  ncclResult_t (*commGetAsyncError)(ncclComm_t, ncclResult_t *);
  ncclResult_t (*allReduce)(const void *, void *, size_t, int, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*allGather)(const void *, void *, size_t, int, ncclComm_t, cudaStream_t);
  ncclResult_t (*broadcast)(const void *, void *, size_t, int, int, ncclComm_t, cudaStream_t);
};

static NcclApi nccl;

struct GustComm {
  ncclComm_t comm;
  int rank, num_ranks;
  float *one; /* device scratch for the barrier's all-reduce */
};

static int32_t load_nccl(const char *op) {
  if (nccl.loaded) return GUST_OK;
  const char *path = getenv("GUST_NCCL_LIBRARY");
  if (path == NULL || path[0] == 0) path = "libnccl.so.2";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    return gust_fail(GUST_ERR_UNSUPPORTED,
                     "%s: cannot load NCCL from %s (%s); tensor parallelism on CUDA needs NCCL 2: install it "
                     "(PyTorch wheels ship nvidia/nccl/lib/libnccl.so.2) and set GUST_NCCL_LIBRARY to the file's path",
                     op, path, dlerror());
  struct {
    void **slot;
    const char *name;
  } wanted[] = {
      {(void **)&nccl.getErrorString, "ncclGetErrorString"},
      {(void **)&nccl.getVersion, "ncclGetVersion"},
      {(void **)&nccl.getUniqueId, "ncclGetUniqueId"},
      {(void **)&nccl.commInitRank, "ncclCommInitRank"},
      {(void **)&nccl.commDestroy, "ncclCommDestroy"},
      {(void **)&nccl.commAbort, "ncclCommAbort"},
      {(void **)&nccl.commGetAsyncError, "ncclCommGetAsyncError"},
      {(void **)&nccl.allReduce, "ncclAllReduce"},
      {(void **)&nccl.allGather, "ncclAllGather"},
      {(void **)&nccl.broadcast, "ncclBroadcast"},
  };
  for (auto &w : wanted) {
    *w.slot = dlsym(lib, w.name);
    if (*w.slot == NULL) {
      dlclose(lib);
      return gust_fail(GUST_ERR_UNSUPPORTED, "%s: %s has no %s; it is not NCCL 2 (set GUST_NCCL_LIBRARY to libnccl.so.2)",
                       op, path, w.name);
    }
  }
  nccl.loaded = true;
  return GUST_OK;
}

static int32_t nccl_check(const char *op, const char *what, ncclResult_t result) {
  if (result == 0) return GUST_OK;
  return gust_fail(GUST_ERR_DEVICE, "%s: %s failed: NCCL error %d (%s)", op, what, result, nccl.getErrorString(result));
}

#define GUST_NCCL_TRY(op, what, call) GUST_TRY(nccl_check(op, what, (call)))

extern "C" {

int32_t gust_comm_unique_id(void *out_id) {
  GUST_REQUIRE(out_id != NULL, "gust_comm_unique_id: out_id is NULL");
  GUST_TRY(load_nccl("gust_comm_unique_id"));
  ncclUniqueId id;
  GUST_NCCL_TRY("gust_comm_unique_id", "ncclGetUniqueId", nccl.getUniqueId(&id));
  memcpy(out_id, id.internal, GUST_COMM_ID_BYTES);
  return GUST_OK;
}

int32_t gust_comm_device_count(int32_t *out_count) {
  GUST_REQUIRE(out_count != NULL, "gust_comm_device_count: out_count is NULL");
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    count = 0;
  }
  *out_count = count;
  return GUST_OK;
}

int32_t gust_comm_init(void **out_comm, const void *id, int32_t num_ranks, int32_t rank, int32_t timeout_ms) {
  (void)timeout_ms;
  GUST_REQUIRE(out_comm != NULL && id != NULL, "gust_comm_init: out_comm and id must not be NULL");
  GUST_REQUIRE(num_ranks >= 1 && rank >= 0 && rank < num_ranks, "gust_comm_init: rank %d of %d ranks", rank, num_ranks);
  GUST_TRY(gust_require_init("gust_comm_init"));
  GUST_TRY(load_nccl("gust_comm_init"));
  ncclUniqueId unique;
  memcpy(unique.internal, id, GUST_COMM_ID_BYTES);
  GustComm *c = (GustComm *)calloc(1, sizeof(GustComm));
  if (c == NULL) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_comm_init: out of host memory");
  c->rank = rank;
  c->num_ranks = num_ranks;
  cudaError_t err = gust_device_malloc((void **)&c->one, sizeof(float));
  if (err != cudaSuccess) {
    free(c);
    return gust_cuda_fail("gust_comm_init", "allocating the barrier scratch", err);
  }
  ncclResult_t result = nccl.commInitRank(&c->comm, num_ranks, unique, rank);
  if (result != 0) {
    gust_device_free(c->one);
    free(c);
    return nccl_check("gust_comm_init", "ncclCommInitRank", result);
  }
  *out_comm = c;
  return GUST_OK;
}

int32_t gust_comm_all_reduce_sum(void *comm, void *buffer_f32, uint64_t count) {
  GustComm *c = (GustComm *)comm;
  GUST_REQUIRE(c != NULL && (buffer_f32 != NULL || count == 0), "gust_comm_all_reduce_sum: NULL communicator or buffer");
  GUST_NCCL_TRY("gust_comm_all_reduce_sum", "ncclAllReduce",
                nccl.allReduce(buffer_f32, buffer_f32, (size_t)count, NCCL_FLOAT32, NCCL_SUM, c->comm, g_cuda.stream));
  return GUST_OK;
}

int32_t gust_comm_all_gather(void *comm, void *dst, const void *src, uint64_t num_bytes) {
  GustComm *c = (GustComm *)comm;
  GUST_REQUIRE(c != NULL && ((dst != NULL && src != NULL) || num_bytes == 0), "gust_comm_all_gather: NULL argument");
  GUST_NCCL_TRY("gust_comm_all_gather", "ncclAllGather",
                nccl.allGather(src, dst, (size_t)num_bytes, NCCL_UINT8, c->comm, g_cuda.stream));
  return GUST_OK;
}

int32_t gust_comm_broadcast(void *comm, void *buffer, uint64_t num_bytes, int32_t root) {
  GustComm *c = (GustComm *)comm;
  GUST_REQUIRE(c != NULL && (buffer != NULL || num_bytes == 0), "gust_comm_broadcast: NULL communicator or buffer");
  GUST_REQUIRE(root >= 0 && root < c->num_ranks, "gust_comm_broadcast: root %d is outside 0..%d", root, c->num_ranks - 1);
  GUST_NCCL_TRY("gust_comm_broadcast", "ncclBroadcast",
                nccl.broadcast(buffer, buffer, (size_t)num_bytes, NCCL_UINT8, root, c->comm, g_cuda.stream));
  return GUST_OK;
}

/* A one-float all-reduce, then a wait for the stream: every rank has reached this point and finished its work. */
int32_t gust_comm_barrier(void *comm) {
  GustComm *c = (GustComm *)comm;
  GUST_REQUIRE(c != NULL, "gust_comm_barrier: NULL communicator");
  GUST_NCCL_TRY("gust_comm_barrier", "ncclAllReduce",
                nccl.allReduce(c->one, c->one, 1, NCCL_FLOAT32, NCCL_SUM, c->comm, g_cuda.stream));
  return gust_sync_and_check("gust_comm_barrier");
}

int32_t gust_comm_destroy(void *comm) {
  GustComm *c = (GustComm *)comm;
  if (c == NULL) return GUST_OK;
  ncclResult_t result = nccl.commDestroy(c->comm);
  gust_device_free(c->one);
  free(c);
  return nccl_check("gust_comm_destroy", "ncclCommDestroy", result);
}

} /* extern "C" */
