// Chooses what each engine step computes: decode tokens of running sequences first, then (chunked)
// prefill of waiting ones, under a per-step token budget and a cap on running sequences. When the
// pool runs out of blocks, the lowest-priority, most recently admitted running sequence is preempted
// (its blocks freed, recomputed later). Waiting order is priority, then arrival; a sequence's priority
// improves by one level for every `agingSteps` steps it waits, so nothing starves.
//
// Example, budget 8 tokens, block size 4: running A (decode) and B (prefill 10 left), waiting C (3 tokens)
//   → A: 1 token, B: 7 tokens (chunk), C waits for the next step (budget spent).
import type { BlockManager } from "./block-manager.ts";
import type { Sequence } from "./sequence.ts";

export interface SchedulerConfig {
  maxNumSeqs: number;
  maxBatchedTokens: number;
  /** Steps of waiting that raise a sequence's priority by one level (lower value = more urgent). */
  agingSteps: number;
}

export interface ScheduledItem {
  seq: Sequence;
  numNewTokens: number;
}

export interface SchedulerOutput {
  items: ScheduledItem[];
  preempted: Sequence[];
}

/** What another component (the EAGLE speculator) learns of, and limits in, the scheduler's block decisions. */
export interface SchedulerObserver {
  /** Limits prefix-cache reuse at admission (a speculating sequence reuses only what its draft has too). */
  maxHitBlocks?(seq: Sequence): number;
  /** Called right after a sequence got its blocks (it may now share cached ones). */
  admitted?(seq: Sequence): void;
  /** Called whenever a sequence's blocks are freed (finish, abort, preemption), e.g. to free draft blocks. */
  released?(seq: Sequence): void;
}

export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  step = 0;

  constructor(
    readonly config: SchedulerConfig,
    readonly blocks: BlockManager,
    private readonly observer: SchedulerObserver = {},
  ) {}

  add(seq: Sequence): void {
    seq.status = "waiting";
    seq.waitingSince = this.step;
    this.waiting.push(seq);
  }

  /** Removes a sequence from the queues and returns its blocks. */
  remove(seq: Sequence): void {
    const w = this.waiting.indexOf(seq);
    if (w >= 0) this.waiting.splice(w, 1);
    const r = this.running.indexOf(seq);
    if (r >= 0) this.running.splice(r, 1);
    if (seq.blockTable.length > 0) this.blocks.release(seq);
    this.observer.released?.(seq);
  }

  #effectivePriority(seq: Sequence): number {
    return seq.priority - Math.floor((this.step - seq.waitingSince) / this.config.agingSteps);
  }

  #preempt(seq: Sequence, out: SchedulerOutput): void {
    this.running.splice(this.running.indexOf(seq), 1);
    this.blocks.release(seq);
    this.observer.released?.(seq);
    seq.status = "waiting";
    seq.numPreemptions++;
    seq.waitingSince = this.step;
    this.waiting.unshift(seq);
    out.preempted.push(seq);
  }

  /** The running sequence to give up first: least urgent priority, then the latest arrival. */
  #victim(): Sequence {
    let victim = this.running[0];
    for (const s of this.running) {
      if (s.priority > victim.priority || (s.priority === victim.priority && s.arrival > victim.arrival)) victim = s;
    }
    return victim;
  }

  schedule(): SchedulerOutput {
    const out: SchedulerOutput = { items: [], preempted: [] };
    let budget = this.config.maxBatchedTokens;
    const scheduled = new Set<Sequence>();
    // 1. running sequences, in admission order: decode (1 token) or the next prefill chunk
    for (let i = 0; i < this.running.length && budget > 0;) {
      const seq = this.running[i];
      const numNew = Math.min(seq.numTokens - seq.numComputed, budget);
      if (numNew <= 0) {
        i++;
        continue;
      }
      let selfPreempted = false;
      while (!this.blocks.grow(seq, numNew)) {
        const victim = this.#victim();
        if (scheduled.has(victim) && victim !== seq) {
          // never take blocks from work already placed in this step: give up this sequence instead
          this.#preempt(seq, out);
          selfPreempted = true;
          break;
        }
        this.#preempt(victim, out);
        if (victim === seq) {
          selfPreempted = true;
          break;
        }
      }
      if (selfPreempted) continue; // running[i] is now the next sequence
      out.items.push({ seq, numNewTokens: numNew });
      scheduled.add(seq);
      budget -= numNew;
      i++;
    }
    // 2. waiting sequences, unless this step had to preempt (admitting now would only thrash)
    if (out.preempted.length === 0) {
      this.waiting.sort((a, b) => this.#effectivePriority(a) - this.#effectivePriority(b) || a.arrival - b.arrival);
      for (let i = 0; i < this.waiting.length && budget > 0 && this.running.length < this.config.maxNumSeqs;) {
        const seq = this.waiting[i];
        if (seq.waitFor && !seq.waitFor.isDone && seq.waitFor.numComputed < seq.waitFor.numPromptTokens) {
          i++; // its sibling's prompt is not computed yet; let others pass
          continue;
        }
        // the head of the line waits for blocks: keeps FIFO fair
        if (!this.blocks.allocate(seq, this.observer.maxHitBlocks?.(seq) ?? Infinity)) break;
        this.observer.admitted?.(seq);
        const numNew = Math.min(seq.numTokens - seq.numComputed, budget);
        this.waiting.splice(i, 1);
        seq.status = "running";
        this.running.push(seq);
        out.items.push({ seq, numNewTokens: numNew });
        scheduled.add(seq);
        budget -= numNew;
      }
    }
    this.step++;
    return out;
  }
}
