// `--enforce-eager` (vLLM's name) on `gust run`, `gust runtime` and `gust dev`: decode steps run kernel by kernel
// instead of replaying the CUDA graph recorded per decode bucket (kernels/cuda/step_graph.cu). Graphs are on by
// default on CUDA; the CPU library has none, so there the flag is accepted and changes nothing.
export const enforceEagerUsage = "[--enforce-eager (CUDA only: no decode-step graphs)]";
export const enforceEagerOption = { "enforce-eager": { type: "boolean" } } as const;
