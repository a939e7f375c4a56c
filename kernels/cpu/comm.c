/* Tensor-parallel communication for the CPU backend: the ranks are processes that meet in one POSIX
 * shared-memory object. Layout: a 4 KiB header (rendezvous flags, pids, the barrier) and one slot of
 * SLOT_BYTES per rank. Every collective moves its data through the slots in chunks of at most one slot:
 * each rank writes its chunk into its own slot, a barrier, each rank reads what it needs, a barrier (so
 * the slots may be reused). All-reduce adds the slots in rank order 0..N-1 on every rank, so all ranks
 * compute the same float expression and hold bit-identical sums.
 * Waits spin briefly, then sleep on a futex in the shared page (the VM has few cores and many ranks); every
 * sleep ends after WAIT_SLICE_MS to check that the other ranks' processes still live, so a rank that died
 * fails the collective with its number instead of hanging the others. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_RANKS 64
#define HEADER_BYTES 4096
#define SLOT_BYTES ((size_t)4 << 20)
#define MAGIC 0x67757374u
#define WAIT_SLICE_MS 50
#define ID_PREFIX "gust-cpu-comm:"

typedef struct {
  _Atomic uint32_t magic;
  int32_t num_ranks;
  _Atomic int32_t arrived[MAX_RANKS];
  _Atomic int32_t pids[MAX_RANKS];
  _Atomic uint32_t count;      /* arrivals at the current barrier */
  _Atomic uint32_t generation; /* bumped by the last arrival; the futex word */
  _Atomic int32_t failed_rank; /* 1 + the rank found dead, 0 while all live */
} header_t;

typedef struct {
  header_t *h;
  uint8_t *slots;
  size_t map_bytes;
  int32_t rank, num_ranks;
} comm_t;

_Static_assert(sizeof(header_t) <= HEADER_BYTES, "header outgrew its page");

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void futex_wait(_Atomic uint32_t *word, uint32_t value, int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, value, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word) { syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0); }

/* A process is gone when kill() finds no such pid, or when it is a zombie its parent has not reaped yet
 * (rank 0 is the parent of the other ranks and may be blocked right here, unable to reap). */
static int process_gone(int32_t pid) {
  if (pid <= 0) return 0;
  if (kill(pid, 0) != 0 && errno == ESRCH) return 1;
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 1;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  const char *close = strrchr(text, ')');
  return close && (close[2] == 'Z' || close[2] == 'X');
}

static int32_t peer_failure(comm_t *c, const char *op) {
  int32_t failed = atomic_load(&c->h->failed_rank);
  if (failed == 0) {
    for (int32_t r = 0; r < c->num_ranks; r++) {
      if (r != c->rank && process_gone(atomic_load(&c->h->pids[r]))) {
        int32_t expected = 0;
        atomic_compare_exchange_strong(&c->h->failed_rank, &expected, r + 1);
        futex_wake(&c->h->generation);
        break;
      }
    }
    failed = atomic_load(&c->h->failed_rank);
  }
  if (failed == 0) return GUST_OK;
  int32_t r = failed - 1;
  return gust_fail(GUST_ERR_DEVICE, "%s: tensor-parallel rank %d (pid %d) exited; rank %d cannot go on without it", op,
                   r, atomic_load(&c->h->pids[r]), c->rank);
}

static int32_t barrier(comm_t *c, const char *op) {
  if (c->num_ranks == 1) return GUST_OK;
  header_t *h = c->h;
  if (atomic_load(&h->failed_rank)) return peer_failure(c, op);
  uint32_t gen = atomic_load_explicit(&h->generation, memory_order_acquire);
  if (atomic_fetch_add_explicit(&h->count, 1, memory_order_acq_rel) == (uint32_t)c->num_ranks - 1) {
    atomic_store_explicit(&h->count, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->generation, 1, memory_order_release);
    futex_wake(&h->generation);
    return GUST_OK;
  }
  for (int spin = 0;; spin++) {
    if (atomic_load_explicit(&h->generation, memory_order_acquire) != gen) return GUST_OK;
    if (spin < 4000) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    futex_wait(&h->generation, gen, WAIT_SLICE_MS);
    if (atomic_load_explicit(&h->generation, memory_order_acquire) != gen) return GUST_OK;
    int32_t status = peer_failure(c, op);
    if (status != GUST_OK) return status;
  }
}

static uint8_t *slot(comm_t *c, int32_t rank) { return c->slots + (size_t)rank * SLOT_BYTES; }

static int32_t shm_name(const void *id, char *name, size_t size) {
  const char *text = (const char *)id;
  size_t prefix = strlen(ID_PREFIX);
  if (strncmp(text, ID_PREFIX, prefix) != 0 || memchr(text, 0, GUST_COMM_ID_BYTES) == NULL)
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_comm_init: the id was not made by gust_comm_unique_id of the cpu backend");
  snprintf(name, size, "%s", text + prefix);
  return GUST_OK;
}

int32_t gust_comm_unique_id(void *out_id) {
  GUST_REQUIRE(out_id != NULL, "gust_comm_unique_id: out_id is NULL");
  uint64_t random = 0;
  if (getrandom(&random, sizeof random, 0) != (ssize_t)sizeof random) random = (uint64_t)now_ms() ^ (uint64_t)getpid() << 32;
  memset(out_id, 0, GUST_COMM_ID_BYTES);
  snprintf((char *)out_id, GUST_COMM_ID_BYTES, "%s/gust-comm-%d-%016llx", ID_PREFIX, (int)getpid(),
           (unsigned long long)random);
  return GUST_OK;
}

int32_t gust_comm_device_count(int32_t *out_count) {
  GUST_REQUIRE(out_count != NULL, "gust_comm_device_count: out_count is NULL");
  *out_count = 0;
  return GUST_OK;
}

/* Rank 0 creates the object; the others open it once it exists at its full size. */
static int32_t open_shared(const char *name, int32_t rank, size_t bytes, int64_t deadline, int32_t timeout_ms,
                           void **out) {
  int fd = -1;
  for (;;) {
    fd = rank == 0 ? shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600) : shm_open(name, O_RDWR, 0600);
    if (fd >= 0 && rank == 0 && ftruncate(fd, (off_t)bytes) != 0) {
      close(fd);
      shm_unlink(name);
      return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_comm_init: cannot size shared memory %s to %zu bytes: %s", name,
                       bytes, strerror(errno));
    }
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size == bytes) break;
    if (fd >= 0) close(fd);
    if (rank == 0) return gust_fail(GUST_ERR_DEVICE, "gust_comm_init: cannot create shared memory %s: %s", name, strerror(errno));
    if (now_ms() >= deadline)
      return gust_fail(GUST_ERR_DEVICE, "gust_comm_init: rendezvous timed out after %d ms: rank 0 never arrived (missing ranks: 0)",
                       timeout_ms);
    sleep_ms(2);
  }
  void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_comm_init: mmap of %s failed: %s", name, strerror(errno));
  *out = map;
  return GUST_OK;
}

static int32_t missing_ranks(comm_t *c, int32_t timeout_ms) {
  char list[512] = "";
  size_t used = 0;
  for (int32_t r = 0; r < c->num_ranks; r++) {
    if (atomic_load(&c->h->arrived[r])) continue;
    used += snprintf(list + used, used < sizeof list ? sizeof list - used : 0, "%s%d", used ? ", " : "", r);
  }
  return gust_fail(GUST_ERR_DEVICE, "gust_comm_init: rendezvous timed out after %d ms: of %d ranks, these never arrived: %s",
                   timeout_ms, c->num_ranks, list);
}

int32_t gust_comm_init(void **out_comm, const void *id, int32_t num_ranks, int32_t rank, int32_t timeout_ms) {
  GUST_REQUIRE(out_comm != NULL && id != NULL, "gust_comm_init: out_comm and id must not be NULL");
  GUST_REQUIRE(num_ranks >= 1 && num_ranks <= MAX_RANKS, "gust_comm_init: %d ranks; the cpu backend joins 1..%d",
               num_ranks, MAX_RANKS);
  GUST_REQUIRE(rank >= 0 && rank < num_ranks, "gust_comm_init: rank %d is outside 0..%d", rank, num_ranks - 1);
  GUST_REQUIRE(timeout_ms > 0, "gust_comm_init: timeout_ms must be positive, got %d", timeout_ms);
  char name[GUST_COMM_ID_BYTES];
  int32_t status = shm_name(id, name, sizeof name);
  if (status != GUST_OK) return status;
  int64_t deadline = now_ms() + timeout_ms;
  size_t bytes = HEADER_BYTES + (size_t)num_ranks * SLOT_BYTES;
  void *map = NULL;
  status = open_shared(name, rank, bytes, deadline, timeout_ms, &map);
  if (status != GUST_OK) return status;
  comm_t *c = calloc(1, sizeof *c);
  if (!c) {
    munmap(map, bytes);
    return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_comm_init: out of host memory");
  }
  *c = (comm_t){.h = map, .slots = (uint8_t *)map + HEADER_BYTES, .map_bytes = bytes, .rank = rank, .num_ranks = num_ranks};
  if (rank == 0) {
    c->h->num_ranks = num_ranks;
    atomic_store_explicit(&c->h->magic, MAGIC, memory_order_release);
  }
  while (atomic_load_explicit(&c->h->magic, memory_order_acquire) != MAGIC && now_ms() < deadline) sleep_ms(1);
  if (atomic_load(&c->h->magic) != MAGIC || c->h->num_ranks != num_ranks) {
    int32_t theirs = c->h->num_ranks;
    gust_comm_destroy(c);
    return gust_fail(GUST_ERR_INVALID_ARGUMENT, "gust_comm_init: rank 0 made a communicator of %d ranks, this rank expects %d",
                     theirs, num_ranks);
  }
  atomic_store(&c->h->pids[rank], (int32_t)getpid());
  atomic_store_explicit(&c->h->arrived[rank], 1, memory_order_release);
  for (;;) {
    int32_t present = 0;
    for (int32_t r = 0; r < num_ranks; r++) present += atomic_load_explicit(&c->h->arrived[r], memory_order_acquire);
    if (present == num_ranks) break;
    if (now_ms() >= deadline) {
      status = missing_ranks(c, timeout_ms);
      if (rank == 0) shm_unlink(name);
      gust_comm_destroy(c);
      return status;
    }
    sleep_ms(1);
  }
  if (rank == 0) shm_unlink(name); /* every rank has it mapped; nothing is left behind if a process dies */
  *out_comm = c;
  return GUST_OK;
}

int32_t gust_comm_all_reduce_sum(void *comm, void *buffer_f32, uint64_t count) {
  comm_t *c = comm;
  GUST_REQUIRE(c != NULL && (buffer_f32 != NULL || count == 0), "gust_comm_all_reduce_sum: NULL communicator or buffer");
  float *x = buffer_f32;
  const uint64_t chunk = SLOT_BYTES / sizeof(float);
  for (uint64_t start = 0; start < count; start += chunk) {
    uint64_t n = count - start < chunk ? count - start : chunk;
    memcpy(slot(c, c->rank), x + start, n * sizeof(float));
    int32_t status = barrier(c, "gust_comm_all_reduce_sum");
    if (status != GUST_OK) return status;
    const int32_t ranks = c->num_ranks;
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (uint64_t i = 0; i < n; i++) {
      float sum = ((const float *)slot(c, 0))[i];
      for (int32_t r = 1; r < ranks; r++) sum += ((const float *)slot(c, r))[i];
      x[start + i] = sum;
    }
    status = barrier(c, "gust_comm_all_reduce_sum");
    if (status != GUST_OK) return status;
  }
  return GUST_OK;
}

int32_t gust_comm_all_gather(void *comm, void *dst, const void *src, uint64_t num_bytes) {
  comm_t *c = comm;
  GUST_REQUIRE(c != NULL && ((dst != NULL && src != NULL) || num_bytes == 0), "gust_comm_all_gather: NULL argument");
  for (uint64_t start = 0; start < num_bytes; start += SLOT_BYTES) {
    uint64_t n = num_bytes - start < SLOT_BYTES ? num_bytes - start : SLOT_BYTES;
    memcpy(slot(c, c->rank), (const uint8_t *)src + start, n);
    int32_t status = barrier(c, "gust_comm_all_gather");
    if (status != GUST_OK) return status;
    for (int32_t r = 0; r < c->num_ranks; r++) memcpy((uint8_t *)dst + r * num_bytes + start, slot(c, r), n);
    status = barrier(c, "gust_comm_all_gather");
    if (status != GUST_OK) return status;
  }
  return GUST_OK;
}

int32_t gust_comm_broadcast(void *comm, void *buffer, uint64_t num_bytes, int32_t root) {
  comm_t *c = comm;
  GUST_REQUIRE(c != NULL && (buffer != NULL || num_bytes == 0), "gust_comm_broadcast: NULL communicator or buffer");
  GUST_REQUIRE(root >= 0 && root < c->num_ranks, "gust_comm_broadcast: root %d is outside 0..%d", root, c->num_ranks - 1);
  for (uint64_t start = 0; start < num_bytes; start += SLOT_BYTES) {
    uint64_t n = num_bytes - start < SLOT_BYTES ? num_bytes - start : SLOT_BYTES;
    if (c->rank == root) memcpy(slot(c, root), (uint8_t *)buffer + start, n);
    int32_t status = barrier(c, "gust_comm_broadcast");
    if (status != GUST_OK) return status;
    if (c->rank != root) memcpy((uint8_t *)buffer + start, slot(c, root), n);
    status = barrier(c, "gust_comm_broadcast");
    if (status != GUST_OK) return status;
  }
  return GUST_OK;
}

int32_t gust_comm_barrier(void *comm) {
  GUST_REQUIRE(comm != NULL, "gust_comm_barrier: NULL communicator");
  return barrier(comm, "gust_comm_barrier");
}

int32_t gust_comm_destroy(void *comm) {
  comm_t *c = comm;
  if (!c) return GUST_OK;
  munmap(c->h, c->map_bytes);
  free(c);
  return GUST_OK;
}
