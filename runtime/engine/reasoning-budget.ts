// The per-request reasoning budget as a hard guarantee (model-spec §9): after the model opens [THINK]
// (or when the prompt already ends inside an open think block), count generated tokens; when the count
// reaches the budget, the next token is forced to [/THINK]. If the model closes on its own, counting
// stops. With budget B the think block holds at most B tokens.
//
// Example, budget 2: prompt ends with [THINK]; model emits a, b → count 2 → forced [/THINK] → answer.

export interface ThinkIds {
  think: number;
  endThink: number;
}

type State = "idle" | "counting" | "done";

/** True when the prompt ends inside an open think block: its last [THINK] has no [/THINK] after it. */
export function endsInsideThink(promptIds: readonly number[], ids: ThinkIds): boolean {
  for (let i = promptIds.length - 1; i >= 0; i--) {
    if (promptIds[i] === ids.endThink) return false;
    if (promptIds[i] === ids.think) return true;
  }
  return false;
}

export class ReasoningBudget {
  #state: State = "idle";
  /** Tokens generated inside the think block (the markers themselves excluded). */
  reasoningTokens = 0;
  budgetExhausted = false;

  constructor(
    readonly ids: ThinkIds | null,
    readonly budgetTokens: number | null,
    promptIds: readonly number[],
  ) {
    // scope: only a think block left open at the very end of the prompt counts (earlier turns are closed)
    if (ids && endsInsideThink(promptIds, ids)) this.#state = "counting";
  }

  get isThinking(): boolean {
    return this.#state === "counting";
  }

  /** The token the engine must emit next regardless of the model, or null. */
  forcedNext(): number | null {
    if (
      this.ids && this.budgetTokens !== null && this.#state === "counting" && this.reasoningTokens >= this.budgetTokens
    ) {
      return this.ids.endThink;
    }
    return null;
  }

  /** Updates the state with the token that was just appended to the output. */
  observe(token: number, forced: boolean): void {
    if (!this.ids) return;
    // a second think block after the first closed keeps counting from the same total: the budget is per request
    if (this.#state !== "counting" && token === this.ids.think) this.#state = "counting";
    else if (this.#state === "counting") {
      if (token === this.ids.endThink) {
        this.#state = "done";
        // budget 0 is "no reasoning" (effort none): closing a stray [THINK] at once exhausts no budget anyone set
        if (forced && this.budgetTokens !== 0) this.budgetExhausted = true;
      } else this.reasoningTokens++;
    }
  }
}
