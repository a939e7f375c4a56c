/* Decode steps as CUDA graphs, one per decode bucket (runtime/model/decode-buckets.ts pads the batch and sets
 * GUST_STEP_GRAPH). Compiled, never run in CI (no GPU); test/gpu/step-graph.test.ts checks it on a GPU.
 *
 * Why one recording serves every step of a bucket: each kernel gust_step_compute launches takes its launch shape
 * (grid, loop bounds, scalars) from the descriptor's sizes (tokens, sequences, rows, block-table width, the model's
 * sizes), never from the batch's contents. Context lengths, positions, slots, block ids and token ids reach the
 * kernels through the device index arrays: attention plans its work lists on the device from context_lens and
 * sizes its context splits from width · block size; kv_write, rope and embed check and read their indices there.
 * So a step whose descriptor matches the recorded one (same sizes, same buffers) differs only in the index arrays:
 * the host copies them into pinned staging at fixed places and the graph begins with the copies from there.
 *
 * Per bucket: the first step with a new descriptor runs eagerly (it sizes the shared scratch and sets kernel
 * attributes, so nothing allocates while recording); the next identical one is recorded, instantiated and replayed;
 * later ones replay. A descriptor that differs (workspace or KV pool reallocated, new width) or scratch that moved
 * since (g_cuda.scratch_generation) drops the graph and starts over. The sampling runs after the replay as its own
 * launch: its arguments (masks, log-probs asked, penalty lists) change between steps of one batch.
 * A recording that fails fails its step once, with a message naming --enforce-eager; graphs then stay off for the
 * process and every later step runs eagerly, so a runtime keeps serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.cuh"

#include "../step_core.h"

namespace {

constexpr int kMaxGraphs = 64;

struct StepGraph {
  bool used;
  gust_step_desc key;      /* the descriptor with its host pointers and sampling cleared */
  gust_step_layer *layers; /* copy of the layer array the key points at */
  uint64_t generation;     /* g_cuda.scratch_generation when the key was taken */
  cudaGraphExec_t exec;    /* NULL until recorded */
  uint8_t *staging;        /* pinned host copy of the index arrays, read by the graph's first copies */
  uint64_t offsets[GUST_STEP_INDEX_ARRAYS];
  cudaEvent_t consumed; /* recorded after each replay: the staging may be rewritten once it has passed */
  uint64_t last_used;
};

StepGraph graphs[kMaxGraphs];
uint64_t clock_ticks = 0;
bool recording_failed = false; /* once: every later step runs eagerly */

gust_step_desc key_of(const gust_step_desc *d) {
  gust_step_desc k;
  memcpy(&k, d, sizeof k);
  k.host_ids = k.host_positions = k.host_slots = k.host_query_starts = NULL;
  k.host_context_lens = k.host_block_tables = k.host_row_index = NULL;
  k.sample = NULL;
  return k;
}

bool matches(const StepGraph &g, const gust_step_desc &key, const gust_step_desc *d) {
  return g.used && memcmp(&g.key, &key, sizeof key) == 0 && g.generation == g_cuda.scratch_generation &&
         memcmp(g.layers, d->layers, sizeof(gust_step_layer) * (size_t)d->num_layers) == 0;
}

void release(StepGraph &g) {
  if (!g.used) return;
  if (g.consumed) {
    cudaEventSynchronize(g.consumed); /* a replay in flight still reads the staging */
    cudaEventDestroy(g.consumed);
  }
  if (g.exec) cudaGraphExecDestroy(g.exec); /* an in-flight launch completes first */
  if (g.staging) cudaFreeHost(g.staging);
  free(g.layers);
  memset(&g, 0, sizeof g);
}

/* The entry recorded for this very descriptor; else the bucket's (same tokens and width), a free one or the least
 * recently used, to take it over. */
StepGraph &slot_for(const gust_step_desc &key, const gust_step_desc *d) {
  for (StepGraph &g : graphs)
    if (matches(g, key, d)) return g;
  StepGraph *free_slot = NULL, *oldest = &graphs[0];
  for (StepGraph &g : graphs) {
    if (g.used && g.key.num_tokens == d->num_tokens && g.key.max_blocks_per_seq == d->max_blocks_per_seq) return g;
    if (!g.used && !free_slot) free_slot = &g;
    if (g.last_used < oldest->last_used) oldest = &g;
  }
  return free_slot ? *free_slot : *oldest;
}

int32_t remember(StepGraph &g, const gust_step_desc &key, const gust_step_desc *d) {
  release(g);
  size_t bytes = sizeof(gust_step_layer) * (size_t)d->num_layers;
  g.layers = (gust_step_layer *)malloc(bytes);
  if (!g.layers) return gust_fail(GUST_ERR_OUT_OF_MEMORY, "gust_step: no host memory to remember a decode bucket");
  memcpy(g.layers, d->layers, bytes);
  g.key = key;
  g.used = true;
  g.last_used = ++clock_ticks;
  return GUST_OK;
}

/* Copies this step's index arrays into the entry's pinned staging (the graph's copies read them from there). */
int32_t stage(StepGraph &g, const gust_step_desc *d) {
  const void *host[GUST_STEP_INDEX_ARRAYS];
  void *device[GUST_STEP_INDEX_ARRAYS];
  uint64_t bytes[GUST_STEP_INDEX_ARRAYS];
  gust_step_index_arrays(d, host, device, bytes);
  GUST_CUDA_TRY("gust_step", "waiting for the previous replay's staging", cudaEventSynchronize(g.consumed));
  for (int i = 0; i < GUST_STEP_INDEX_ARRAYS; i++)
    if (bytes[i] > 0) memcpy(g.staging + g.offsets[i], host[i], bytes[i]);
  return GUST_OK;
}

/* Records the copies from staging and gust_step_compute into a graph and instantiates it. */
int32_t record(StepGraph &g, const gust_step_desc *d) {
  const void *host[GUST_STEP_INDEX_ARRAYS];
  void *device[GUST_STEP_INDEX_ARRAYS];
  uint64_t bytes[GUST_STEP_INDEX_ARRAYS], total = 0;
  gust_step_index_arrays(d, host, device, bytes);
  for (int i = 0; i < GUST_STEP_INDEX_ARRAYS; i++) g.offsets[i] = total, total += (bytes[i] + 63) / 64 * 64;
  GUST_CUDA_TRY("gust_step", "cudaHostAlloc (graph staging)", cudaHostAlloc((void **)&g.staging, total + 64, 0));
  GUST_CUDA_TRY("gust_step", "cudaEventCreate", cudaEventCreateWithFlags(&g.consumed, cudaEventDisableTiming));

  const uint64_t launches = g_cuda.launches;
  GUST_CUDA_TRY("gust_step", "cudaStreamBeginCapture",
                cudaStreamBeginCapture(g_cuda.stream, cudaStreamCaptureModeThreadLocal));
  g_cuda.capturing = true;
  int32_t status = GUST_OK;
  for (int i = 0; i < GUST_STEP_INDEX_ARRAYS && status == GUST_OK; i++) {
    if (bytes[i] == 0) continue;
    cudaError_t err = cudaMemcpyAsync(device[i], g.staging + g.offsets[i], bytes[i], cudaMemcpyHostToDevice,
                                      g_cuda.stream);
    if (err != cudaSuccess) status = gust_cuda_fail("gust_step", "recording the index copies", err);
  }
  if (status == GUST_OK) status = gust_step_compute(d);
  cudaGraph_t graph = NULL;
  cudaError_t ended = cudaStreamEndCapture(g_cuda.stream, &graph);
  g_cuda.capturing = false;
  g_cuda.launches = launches; /* recorded kernels are not launches; the replay counts */
  if (status != GUST_OK || ended != cudaSuccess) {
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError(); /* the capture's error is reported here, not left for the next call */
    if (status != GUST_OK) return status;
    return gust_cuda_fail("gust_step", "cudaStreamEndCapture", ended);
  }
  cudaError_t made = cudaGraphInstantiate(&g.exec, graph, 0);
  cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    g.exec = NULL;
    return gust_cuda_fail("gust_step", "instantiating the decode step's CUDA graph", made);
  }
  return GUST_OK;
}

int32_t replay(StepGraph &g, const gust_step_desc *d) {
  GUST_TRY(stage(g, d));
  GUST_CUDA_TRY("gust_step", "cudaGraphLaunch", cudaGraphLaunch(g.exec, g_cuda.stream));
  GUST_CUDA_TRY("gust_step", "cudaEventRecord", cudaEventRecord(g.consumed, g_cuda.stream));
  g_cuda.launches++;
  return GUST_OK;
}

} /* namespace */

int32_t gust_step_graph(const gust_step_desc *d) {
  GUST_TRY(gust_step_check(d));
  /* with sync checks every launch waits for its own check: nothing to record */
  if (g_cuda.sync_checks || recording_failed) return gust_step_run(d);
  const gust_step_desc key = key_of(d);
  StepGraph &g = slot_for(key, d);
  if (!matches(g, key, d)) {
    GUST_TRY(remember(g, key, d));
    g.generation = ~0ull; /* matches nothing until the warm-up step has run through */
    GUST_TRY(gust_step_run(d));
    g.generation = g_cuda.scratch_generation; /* after the warm-up step: the scratch the recording will find */
    return GUST_OK;
  }
  g.last_used = ++clock_ticks;
  if (!g.exec) {
    int32_t status = record(g, d);
    if (status != GUST_OK) {
      release(g);
      recording_failed = true;
      char reason[512];
      snprintf(reason, sizeof reason, "%s", gust_last_error());
      return gust_fail(status, "gust_step: recording a decode step as a CUDA graph failed (%s); later steps run "
                               "without graphs (--enforce-eager skips them from the start)", reason);
    }
  }
  GUST_TRY(replay(g, d));
  return gust_step_sample_rows(d);
}
