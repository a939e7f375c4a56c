// Rank 0 of a tensor-parallel model copy: starts ranks 1..N-1 as follower processes of this same program
// (runtime/parallel/follower-main.ts, each bound to device = rank), joins the communicator with them, and
// hands every forward step of every sharded model to them through the step channel before computing its own.
// Rank 0 alone runs the engine, the scheduler and the socket server; followers never talk to gateways.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Backend, Communicator } from "../../ffi/backend.ts";
import { commIdToHex } from "../../ffi/comm.ts";
import { loadModelConfig } from "../config/load-config.ts";
import type { KvCache } from "../model/kv-cache.ts";
import type { RankPlacement } from "../model/load-model.ts";
import type { StepCaps } from "../model/workspace.ts";
import { checkDeviceCount, shardLayout } from "./layout.ts";
import { encodeStep, MessageKind, StepChannel } from "./step-channel.ts";

const followerMain = join(dirname(fileURLToPath(import.meta.url)), "follower-main.ts");

/** Model ids in step messages: the target, and its EAGLE draft. */
export const ModelId = { Target: 0, Draft: 1 } as const;

export interface GroupOptions {
  numRanks: number;
  modelDir: string;
  draftDir?: string;
  maxPositions?: number;
  /** The engine's largest step: each follower's workspace stops growing there, as rank 0's does. */
  stepCaps?: StepCaps;
  /** CPU threads per follower rank (rank 0 keeps its own backend's). */
  followerThreads?: number;
  rendezvousTimeoutMs?: number;
  /** A follower exited while the group was up: rank 0 must fail its requests and exit (default: log, exit 1). */
  onFollowerExit?: (message: string) => void;
}

/** Refuses a size the heads or the devices do not allow, before any process starts. */
export function checkGroupSize(backend: Backend, modelDir: string, numRanks: number): void {
  const text = loadModelConfig(modelDir).text;
  shardLayout(text, numRanks);
  checkDeviceCount(text, numRanks, backend.commDeviceCount());
}

export class TensorParallelGroup {
  readonly followers: ChildProcess[] = [];
  readonly comm: Communicator;
  readonly #channel: StepChannel;
  readonly #cacheIds = new WeakMap<KvCache, number>();
  #nextCacheId = 1;
  #closing = false;

  private constructor(readonly backend: Backend, readonly options: GroupOptions) {
    const id = backend.commUniqueId();
    const base = [
      "--ranks",
      String(options.numRanks),
      "--comm-id",
      commIdToHex(id),
      "--model",
      options.modelDir,
      "--backend",
      backend.kind,
      "--threads",
      String(options.followerThreads ?? backend.numThreads),
      ...(options.draftDir ? ["--draft", options.draftDir] : []),
      ...(options.maxPositions ? ["--max-positions", String(options.maxPositions)] : []),
      ...(options.stepCaps
        ? ["--max-step-tokens", String(options.stepCaps.maxTokens), "--max-step-rows", String(options.stepCaps.maxRows)]
        : []),
    ];
    for (let rank = 1; rank < options.numRanks; rank++) {
      const child = spawn(process.execPath, [followerMain, "--rank", String(rank), ...base], {
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, GUST_CUDA_DEVICE: String(rank) },
      });
      child.once("exit", (code, signal) => this.#followerExited(rank, child.pid, code, signal));
      this.followers.push(child);
    }
    try {
      this.comm = backend.commInit(id, options.numRanks, 0, options.rendezvousTimeoutMs ?? 60_000);
    } catch (err) {
      this.#closing = true;
      for (const f of this.followers) f.kill("SIGKILL");
      throw err;
    }
    this.#channel = new StepChannel(backend, this.comm);
  }

  /** Checks the size, starts the followers and meets them (they then load their shards while rank 0 loads its own). */
  static start(backend: Backend, options: GroupOptions): TensorParallelGroup {
    checkGroupSize(backend, options.modelDir, options.numRanks);
    return new TensorParallelGroup(backend, options);
  }

  /** Where a model of this group runs: over the communicator, its steps mirrored to the followers. */
  placement(modelId: number): RankPlacement {
    return { comm: this.comm, beforeStep: (batch, cache) => this.#sendStep(modelId, cache, batch) };
  }

  /** Waits until every follower has loaded its shards (a follower that failed is named here). */
  ready(): void {
    this.comm.barrier();
  }

  #sendStep(modelId: number, cache: KvCache, batch: Parameters<typeof encodeStep>[0]["batch"]): void {
    let cacheId = this.#cacheIds.get(cache);
    if (cacheId === undefined) this.#cacheIds.set(cache, cacheId = this.#nextCacheId++);
    const payload = encodeStep({
      modelId,
      cacheId,
      numBlocks: cache.numBlocks,
      blockSize: cache.blockSize,
      kvDtype: cache.dtype,
      batch,
    });
    this.#channel.send(MessageKind.Step, payload);
  }

  #followerExited(rank: number, pid: number | undefined, code: number | null, signal: string | null): void {
    if (this.#closing) return;
    this.#closing = true;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const message = `tensor-parallel rank ${rank} (pid ${pid}) ${how}; rank 0 cannot serve without it`;
    if (this.options.onFollowerExit) this.options.onFollowerExit(message);
    else {
      process.stderr.write(`gust: ${message}\n`);
      process.exit(1);
    }
  }

  /** Tells the followers to exit and leaves the communicator. */
  shutdown(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#channel.send(MessageKind.Shutdown);
    } catch {
      // a follower already gone (the communicator failed): stop the others instead of telling them
      for (const f of this.followers) if (f.exitCode === null) f.kill("SIGTERM");
    }
    this.#channel.dispose();
    this.comm.destroy();
  }
}
