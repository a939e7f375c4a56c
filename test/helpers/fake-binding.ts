// A fake runtime for gateway tests: the real Tekken tokenizer of the tiny fixture model, scripted token streams,
// and a record of every generate call (options, abort and its reason, timeout, whether the iterator was closed).
// Scripts can be paced by hand (`manual`), so tests decide exactly when each event arrives: no test waits on time.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type {
  GenerateEvent,
  GenerateOptions,
  ModelBinding,
  ModelInfo,
  RuntimeStats,
  Usage,
} from "../../functions/sdk/binding.ts";
import { RuntimeError } from "../../functions/sdk/binding.ts";
import { Tekkenizer } from "../../runtime/text/tekken/tekken.ts";
import { repoRoot } from "./fixtures.ts";

let cachedTok: Tekkenizer | undefined;
export function fixtureTokenizer(): Tekkenizer {
  return (cachedTok ??= Tekkenizer.fromJSON(
    JSON.parse(readFileSync(join(repoRoot, "test/fixtures/tiny-mistral3-fp8/tekken.json"), "utf8")),
  ));
}

/** Ids for text parts and control names: ids("[THINK]", "hmm", "[/THINK]", "Hi", "</s>"). */
export function ids(...parts: string[]): number[] {
  const tok = fixtureTokenizer();
  return parts.flatMap((p) => {
    if (p === "</s>") return [tok.eosId];
    const control = /^\[\/?[A-Z_]+\]$/.test(p) ? tok.findControl(p) : undefined;
    return control !== undefined ? [control] : tok.encode(p);
  });
}

export interface ScriptChoice {
  ids: number[];
  /** How the runtime ends this choice. Default "stop". */
  finish?: "stop" | "length";
}

export interface Script {
  choices: ScriptChoice[];
  /** Tokens per event. Default 1 (one engine step per token, as the engine does without speculation). */
  chunk?: number;
  /** Refuse at once with this error (the runtime's error frame). */
  refuse?: RuntimeError;
  /** Throw this after `failAfter` events (a broken connection mid-stream). */
  fail?: { after: number; error: Error };
  /** Events wait for `call.release()`. */
  manual?: boolean;
}

type Scripter = (opts: GenerateOptions, call: FakeCall) => Script;

export class FakeCall {
  aborted = false;
  abortReason: unknown = undefined;
  /** Events delivered before the abort arrived. */
  abortedAfter = -1;
  /** The consumer closed the iterator (return()). */
  returned = false;
  emitted = 0;
  finished = false;
  private credits = 0;
  private wake: (() => void) | null = null;
  private waitingResolvers: Array<() => void> = [];
  waiting = false;

  constructor(readonly options: GenerateOptions) {}

  /** Let `n` more events through (manual scripts). */
  release(n = 1): void {
    this.credits += n;
    this.wake?.();
  }

  /** Resolves once the generator is parked waiting for `release()` (or at once if it already is). */
  parked(): Promise<void> {
    if (this.waiting) return Promise.resolve();
    return new Promise((r) => this.waitingResolvers.push(r));
  }

  /** @internal */
  async gate(signal: AbortSignal | undefined): Promise<void> {
    while (this.credits === 0 && !signal?.aborted) {
      this.waiting = true;
      for (const r of this.waitingResolvers.splice(0)) r();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      this.waiting = false;
      this.wake = null;
    }
    if (this.credits > 0) this.credits--;
  }
}

export interface FakeOptions {
  id?: string;
  /** The runtime's other served names (its --served-model-name list after the first). */
  aliases?: string[];
  contextLength?: number;
  hasVision?: boolean;
  /** What each generate call produces; default: "Hello there" then </s>. */
  script?: Scripter;
  stats?: Partial<RuntimeStats>;
}

const BLOCKS_PER_SEQUENCE = 3;

export class FakeBinding implements ModelBinding {
  readonly info: ModelInfo;
  readonly calls: FakeCall[] = [];
  script: Scripter;
  statsCalls = 0;
  statsOverride: Partial<RuntimeStats>;

  constructor(opts: FakeOptions = {}) {
    const tok = fixtureTokenizer();
    this.info = {
      id: opts.id ?? "tiny-mistral3",
      aliases: opts.aliases ?? [],
      contextLength: opts.contextLength ?? 4096,
      vocabSize: tok.vocabSize,
      tokenizer: tok,
      image: opts.hasVision ? { patchSize: 14, spatialMergeSize: 2, maxImageSize: 112 } : null,
      hasVision: opts.hasVision ?? false,
      limits: { maxNumSeqs: 8, maxBatchedTokens: 512, numBlocks: 256, blockSize: 16, maxImagesPerRequest: 4 },
    };
    this.script = opts.script ?? (() => ({ choices: [{ ids: ids("Hello there", "</s>") }] }));
    this.statsOverride = opts.stats ?? {};
  }

  /** Make every call answer with these choices. */
  reply(...choices: Array<number[] | ScriptChoice>): this {
    this.script = () => ({ choices: choices.map((c) => (Array.isArray(c) ? { ids: c } : c)) });
    return this;
  }

  get lastCall(): FakeCall {
    const c = this.calls[this.calls.length - 1];
    if (!c) throw new Error("the fake runtime got no generate call");
    return c;
  }

  /** Sequences still holding KV blocks. */
  get active(): number {
    return this.calls.filter((c) => !c.finished && !c.aborted && !c.returned).length;
  }

  async stats(): Promise<RuntimeStats> {
    this.statsCalls++;
    return {
      running: this.active,
      waiting: 0,
      kvBlocksUsed: this.active * BLOCKS_PER_SEQUENCE,
      kvBlocksTotal: this.info.limits.numBlocks,
      prefixCacheHitRate: 0,
      steps: 0,
      abortedTotal: this.calls.filter((c) => c.aborted).length,
      connections: 1,
      spec: { drafted: 0, accepted: 0, targetSteps: 0, emitted: 0 },
      ...this.statsOverride,
    };
  }

  generate(options: GenerateOptions): AsyncIterable<GenerateEvent> {
    const call = new FakeCall(options);
    this.calls.push(call);
    const script = this.script(options, call);
    const signal = options.signal;
    signal?.addEventListener(
      "abort",
      () => {
        if (call.finished) return;
        call.aborted = true;
        call.abortReason = signal.reason;
        call.abortedAfter = call.emitted;
      },
      { once: true },
    );
    const tok = fixtureTokenizer();
    return {
      [Symbol.asyncIterator]: () => {
        const gen = run(script, options, call, tok);
        return {
          next: () => gen.next(),
          return: async (v?: unknown) => {
            call.returned = true;
            return gen.return(v as undefined);
          },
          throw: (e?: unknown) => gen.throw(e),
        };
      },
    };
  }
}

function usageFor(options: GenerateOptions, generated: number[], tok: Tekkenizer): Usage {
  const think = tok.findControl("[THINK]");
  const endThink = tok.findControl("[/THINK]");
  let inside = false;
  let reasoning = 0;
  for (const id of generated) {
    if (id === think) inside = true;
    else if (id === endThink) inside = false;
    else if (inside) reasoning++;
  }
  return {
    prompt_tokens: options.promptIds.length,
    completion_tokens: generated.length,
    total_tokens: options.promptIds.length + generated.length,
    reasoning_tokens: reasoning,
    budget_exhausted: false,
    cached_tokens: 0,
    preemptions: 0,
  };
}

async function* run(
  script: Script,
  options: GenerateOptions,
  call: FakeCall,
  tok: Tekkenizer,
): AsyncGenerator<GenerateEvent> {
  if (script.refuse) throw script.refuse;
  const chunk = script.chunk ?? 1;
  const n = options.n ?? 1;
  const choices = Array.from({ length: n }, (_, i) => script.choices[i] ?? script.choices[0]);
  const sent = choices.map(() => 0);
  const done = choices.map(() => false);
  const signal = options.signal;
  const abortEvents = function* () {
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      done[i] = true;
      yield {
        index: i,
        tokens: [],
        finishReason: "abort" as const,
        usage: usageFor(options, choices[i].ids.slice(0, sent[i]), tok),
      };
    }
  };
  while (done.some((d) => !d)) {
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      if (script.manual) await call.gate(signal);
      else await Promise.resolve();
      if (signal?.aborted) {
        yield* abortEvents();
        return;
      }
      if (script.fail && call.emitted >= script.fail.after) throw script.fail.error;
      const c = choices[i];
      const take = c.ids.slice(sent[i], sent[i] + chunk);
      sent[i] += take.length;
      const last = sent[i] >= c.ids.length;
      if (last) done[i] = true;
      if (done.every(Boolean)) call.finished = true; // the sequence is over once its last event is out
      call.emitted++;
      yield {
        index: i,
        tokens: take.map((token) => ({
          token,
          logprob: -0.5,
          forced: false,
          ...(options.sampling?.logprobs
            ? { topLogprobs: [{ token, logprob: -0.5 }, { token: 1 + (token % 100), logprob: -2 }] }
            : {}),
        })),
        finishReason: last ? (c.finish ?? "stop") : null,
        ...(last ? { usage: usageFor(options, c.ids, tok) } : {}),
      };
    }
  }
  call.finished = true;
}

export { RuntimeError };
