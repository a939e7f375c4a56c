// The compiled grammars of one tokenizer's constrained decoding, keyed by job (compile-job.ts): kept because their
// masks are the expensive part and clients resend the same schemas, up to a byte budget all together (least
// recently used first out). Refusals are remembered too (a small LRU), so a refused schema is not compiled again
// when the request is admitted, nor when a client resends it.
//
// Two ways in: `masker(job)` compiles on the calling thread when the job is not cached (tests, `gust run`);
// `compile(jobs)` builds the missing ones on a GrammarCompiler's worker, so that the runtime admits a request only
// once `masker` of each of its jobs is a lookup.
import { type GrammarJob, jobKey } from "../grammar/compile-job.ts";
import { compileJob } from "../grammar/compile-job.ts";
import type { GrammarCompiler } from "../grammar/grammar-compiler.ts";
import { LazyDfa } from "../grammar/lazy-dfa.ts";
import { type CompiledNfa, SchemaError } from "../grammar/schema-grammar.ts";
import { TokenMasker, type TokenTrie } from "../grammar/token-mask.ts";

/** Refusals remembered: their keys' bytes at most (a refused 50k-string enum is a 1 MB key). */
const REFUSED_BYTES = 16 * 1024 * 1024;

export class GrammarCache {
  readonly #maskers = new Map<string, TokenMasker>();
  readonly #refused = new Map<string, string>();
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly trie: () => TokenTrie,
    private readonly maxDfaStates: number,
    private readonly cacheBytes: number,
    private readonly compiler?: GrammarCompiler,
  ) {}

  /** True when `masker(job)` is a lookup (cached, or a remembered refusal). */
  has(job: GrammarJob): boolean {
    const key = jobKey(job);
    return this.#maskers.has(key) || this.#refused.has(key);
  }

  /** The job's masker, compiled here if it is not cached; throws SchemaError for a refused job. */
  masker(job: GrammarJob): TokenMasker {
    const key = jobKey(job);
    const refused = this.#refused.get(key);
    if (refused !== undefined) throw new SchemaError(refused);
    const hit = this.#maskers.get(key);
    if (hit) {
      this.#maskers.delete(key); // refresh its place in the LRU order
      this.#maskers.set(key, hit);
      return hit;
    }
    let compiled: CompiledNfa;
    try {
      compiled = compileJob(job);
    } catch (e) {
      if (e instanceof SchemaError) this.#refuse(key, e.message);
      throw e;
    }
    return this.#insert(key, compiled);
  }

  /** Compiles every job not cached yet on the compiler's worker (here without one) and caches the results,
   * refusals included; rejects only when the worker itself failed. */
  async compile(jobs: GrammarJob[]): Promise<void> {
    await Promise.all(jobs.filter((j) => !this.has(j)).map((job) => this.#compileOne(job)));
  }

  #compileOne(job: GrammarJob): Promise<void> {
    const key = jobKey(job);
    let done = this.#inFlight.get(key);
    if (done) return done;
    if (!this.compiler) {
      try {
        this.masker(job);
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
      }
      return Promise.resolve();
    }
    done = this.compiler.compile(job).then(
      (compiled) => void this.#insert(key, compiled),
      (e) => {
        if (e instanceof SchemaError) this.#refuse(key, e.message);
        else throw e;
      },
    ).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, done);
    return done;
  }

  #insert(key: string, { nfa, start }: CompiledNfa): TokenMasker {
    const masker = new TokenMasker(new LazyDfa(nfa, start, this.maxDfaStates), this.trie());
    this.#maskers.set(key, masker);
    // entries grow after they are made (DFA states and masks come as answers need them): counted again each time
    let total = this.bytes;
    for (const [k, m] of this.#maskers) {
      if (total <= this.cacheBytes || m === masker) break;
      total -= 2 * k.length + m.approxBytes;
      this.#maskers.delete(k);
    }
    return masker;
  }

  #refuse(key: string, message: string): void {
    this.#refused.set(key, message);
    let total = 0;
    for (const k of this.#refused.keys()) total += 2 * k.length;
    for (const k of this.#refused.keys()) {
      if (total <= REFUSED_BYTES || k === key) break;
      total -= 2 * k.length;
      this.#refused.delete(k);
    }
  }

  /** What the cached grammars hold, roughly, in bytes. */
  get bytes(): number {
    let total = 0;
    for (const [k, m] of this.#maskers) total += 2 * k.length + m.approxBytes;
    return total;
  }
}
