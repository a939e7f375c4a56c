// A follower rank (1..N-1) of a tensor-parallel model copy, started by rank 0 (leader.ts) as
// `bun follower-main.ts --rank R --ranks N --comm-id HEX --model DIR [--draft DIR] --backend cpu|cuda ...`.
// It loads its shards, then runs every step rank 0 sends, on its own KV caches, until told to stop.
// It exits non-zero with its rank in the message when anything fails; rank 0 notices and stops serving.
import { parseArgs } from "node:util";
import { createBackend } from "../../ffi/backend.ts";
import { commIdFromHex } from "../../ffi/comm.ts";
import type { BackendKind } from "../../ffi/library-path.ts";
import { loadDraft } from "../eagle/load-draft.ts";
import { KvCache } from "../model/kv-cache.ts";
import { loadModel, progressPrinter } from "../model/load-model.ts";
import type { TextModel } from "../model/text-model.ts";
import { ModelId } from "./leader.ts";
import { decodeStep, MessageKind, StepChannel } from "./step-channel.ts";

/** Caches kept per follower, least recently used dropped first: the engine's and the draft's are used every
 *  step and stay; single-sequence callers (tests, `gust run`) come and go. */
const MAX_CACHES = 8;

function main(): number {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      rank: { type: "string" },
      ranks: { type: "string" },
      "comm-id": { type: "string" },
      model: { type: "string" },
      draft: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      "max-positions": { type: "string" },
      "max-step-tokens": { type: "string" },
      "max-step-rows": { type: "string" },
      "timeout-ms": { type: "string" },
    },
  });
  const rank = Number(values.rank), numRanks = Number(values.ranks);
  const label = `gust rank ${rank}/${numRanks}`;
  try {
    const backend = createBackend(values.backend as BackendKind, { numThreads: Number(values.threads) || 1 });
    const comm = backend.commInit(commIdFromHex(values["comm-id"]!), numRanks, rank, 60_000);
    const maxPositions = values["max-positions"] ? Number(values["max-positions"]) : undefined;
    const stepCaps = values["max-step-tokens"]
      ? { maxTokens: Number(values["max-step-tokens"]), maxRows: Number(values["max-step-rows"]) }
      : undefined;
    const target = loadModel(values.model!, backend, {
      maxPositions,
      stepCaps,
      parallel: { comm },
      onProgress: progressPrinter(1 << 30, rank, numRanks),
    });
    const models = new Map<number, TextModel>([[ModelId.Target, target.model]]);
    if (values.draft) models.set(ModelId.Draft, loadDraft(values.draft, backend, target).model);
    comm.barrier(); // loaded: rank 0's ready()
    const channel = new StepChannel(backend, comm);
    const caches = new Map<number, KvCache>();
    for (;;) {
      const { kind, payload } = channel.receive();
      if (kind === MessageKind.Shutdown) return 0;
      const step = decodeStep(payload);
      const model = models.get(step.modelId);
      if (!model) throw new Error(`rank 0 sent a step for model ${step.modelId}, which this rank did not load`);
      let cache = caches.get(step.cacheId);
      caches.delete(step.cacheId); // re-inserted last: the map's order is the recency order
      if (!cache) {
        if (caches.size >= MAX_CACHES) {
          const [oldest, old] = caches.entries().next().value!;
          old.dispose();
          caches.delete(oldest);
        }
        cache = new KvCache(backend, model.config, step.numBlocks, step.blockSize, step.kvDtype);
      }
      caches.set(step.cacheId, cache);
      model.forward(step.batch, cache);
    }
  } catch (err) {
    process.stderr.write(`${label}: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exit(main());
