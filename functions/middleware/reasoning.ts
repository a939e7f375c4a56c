/**
 * Reasoning budget: one typed decision, `c.var.reasoning = { effort, budgetTokens }`, from whatever the client
 * sent and the route's defaults, clamped to the operator's limits.
 *
 * Instruct v15 knows two efforts, `none` and `high` (model-spec §7.2); the budget is a hard cap the runtime
 * enforces on [THINK] tokens (model-spec §9). Request fields read:
 *
 * | request                                        | effort | budgetTokens                     |
 * |------------------------------------------------|--------|----------------------------------|
 * | `reasoning_effort: "none"`                     | none   | 0 (a stray [THINK] closes at once) |
 * | `reasoning_effort: "minimal" / "low" / "medium"` | high | effortBudgets (256 / 1024 / 4096) |
 * | `reasoning_effort: "high"` / `"xhigh"` / `"max"` | high | effortBudgets (null = unlimited) |
 * | `reasoning: {budget_tokens: 0}`                | none   | 0                                |
 * | `reasoning: {budget_tokens: N > 0}`            | high   | N                                |
 * | `budget_tokens: N` (top level, the seeds' `extra_body`) | as `reasoning.budget_tokens`   |
 * | `reasoning: {effort: ...}`                     | as `reasoning_effort`                     |
 * | Mistral `prompt_mode: "reasoning"`             | high   | effortBudgets.high               |
 * | nothing                                        | the route default (none unless configured) |
 *
 * `reasoning_effort` and `reasoning.budget_tokens` combine (effort words other than none take the explicit
 * budget); contradictions (`none` with a positive budget, two different efforts) are a 400 naming the field.
 * Operator limits then apply: `allowReasoning: false` turns every request into none, and `maxBudgetTokens`
 * caps the budget (an unlimited budget becomes the cap).
 */
import type { MiddlewareHandler } from "hono";
import { jsonBody, mayHaveBody } from "../http/body.ts";
import type { GatewayContext, GatewayEnv, ReasoningSettings } from "../http/env.ts";
import { HttpError } from "../http/errors.ts";

/** Every word OpenAI's SDKs, Codex and Mistral Vibe (`thinking = "max"`) send. */
export const EFFORT_WORDS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type EffortWord = (typeof EFFORT_WORDS)[number];

export interface ReasoningDefaults {
  effort: EffortWord;
  /** Overrides the effort word's budget. */
  budgetTokens?: number | null;
}

export interface ReasoningOptions {
  /** What the route does when the request says nothing. Default: `{effort: "none"}`. */
  default?: ReasoningDefaults;
  /** Budgets (tokens inside [THINK]; null = unlimited) for the effort words that map to `high`. */
  effortBudgets?: Partial<Record<Exclude<EffortWord, "none">, number | null>>;
  /** Operator cap on any budget; null = no cap. */
  maxBudgetTokens?: number | null;
  /** false: every request runs with effort none. Default true. */
  allowReasoning?: boolean;
  /** Also read Mistral's `prompt_mode`. Default false. */
  mistral?: boolean;
  /** "always": the body is JSON whatever its content type (built-in chat routes). "if-json" (default): read it
   * only when Content-Type says JSON, so functions that take other bodies are not broken by this middleware. */
  readBody?: "always" | "if-json";
}

export const DEFAULT_EFFORT_BUDGETS: Record<Exclude<EffortWord, "none">, number | null> = {
  minimal: 256,
  low: 1024,
  medium: 4096,
  high: null,
  xhigh: null,
  max: null,
};

const bad = (param: string, message: string) => new HttpError(400, "invalid_value", `${param}: ${message}`, param);

function effortWord(v: unknown, param: string): EffortWord | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !(EFFORT_WORDS as readonly string[]).includes(v)) {
    throw bad(
      param,
      `unknown reasoning effort ${JSON.stringify(v)}; allowed: ${
        EFFORT_WORDS.join(", ")
      } (this model runs none or high; the others set a reasoning budget)`,
    );
  }
  return v as EffortWord;
}

function budgetField(v: unknown, param: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw bad(param, `must be an integer ≥ 0 (0 = no reasoning), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The decision for one request body (exported for tests and for functions that resolve settings themselves). */
export function resolveReasoning(body: Record<string, unknown> | null, opts: ReasoningOptions = {}): ReasoningSettings {
  const budgets = { ...DEFAULT_EFFORT_BUDGETS, ...opts.effortBudgets };
  let decided = fromRequest(body, opts, budgets) ??
    fromWord(opts.default?.effort ?? "none", opts.default?.budgetTokens, budgets, "route-default");
  if (opts.allowReasoning === false && decided.effort !== "none") {
    decided = { effort: "none", budgetTokens: 0, source: "operator:reasoning-disabled" };
  }
  const cap = opts.maxBudgetTokens ?? null;
  if (decided.effort === "high" && cap !== null && (decided.budgetTokens === null || decided.budgetTokens > cap)) {
    decided = { ...decided, budgetTokens: cap, source: `${decided.source}+operator-cap` };
  }
  return decided;
}

function fromWord(
  word: EffortWord,
  budget: number | null | undefined,
  budgets: Record<string, number | null>,
  source: string,
): ReasoningSettings {
  if (word === "none") return { effort: "none", budgetTokens: 0, source };
  return { effort: "high", budgetTokens: budget !== undefined ? budget : budgets[word], source };
}

function fromRequest(
  body: Record<string, unknown> | null,
  opts: ReasoningOptions,
  budgets: Record<string, number | null>,
): ReasoningSettings | null {
  if (!body) return null;
  const top = effortWord(body.reasoning_effort, "reasoning_effort");
  const r = body.reasoning;
  if (r !== undefined && r !== null && (typeof r !== "object" || Array.isArray(r))) {
    throw bad("reasoning", 'must be an object like {"budget_tokens": 2048} or {"effort": "high"}');
  }
  const nested = r ? effortWord((r as Record<string, unknown>).effort, "reasoning.effort") : undefined;
  const budget = budgetOf(body, r as Record<string, unknown> | null | undefined);
  if (top !== undefined && nested !== undefined && top !== nested) {
    throw bad(
      "reasoning.effort",
      `${JSON.stringify(nested)} contradicts reasoning_effort ${JSON.stringify(top)}; send one of them`,
    );
  }
  let word = top ?? nested;
  let source = top !== undefined ? "request:reasoning_effort" : nested !== undefined ? "request:reasoning.effort" : "";
  if (opts.mistral) {
    const mode = body.prompt_mode;
    if (mode !== undefined && mode !== null && mode !== "reasoning") {
      throw bad("prompt_mode", `unknown prompt_mode ${JSON.stringify(mode)}; allowed: "reasoning" or null`);
    }
    if (mode === "reasoning") {
      if (word === "none") {
        throw bad("prompt_mode", 'prompt_mode "reasoning" contradicts reasoning_effort "none"; send one of them');
      }
      if (word === undefined) {
        word = "high";
        source = "request:prompt_mode";
      }
    }
  }
  if (budget !== undefined) {
    const field = budget.field;
    if (budget.value > 0 && word === "none") {
      throw bad(
        field,
        `a budget of ${budget.value} tokens contradicts reasoning effort "none"; leave one out`,
      );
    }
    if (budget.value === 0 && word !== undefined && word !== "none") {
      throw bad(
        field,
        `a budget of 0 means no reasoning, which contradicts reasoning effort ${JSON.stringify(word)}`,
      );
    }
    return budget.value === 0
      ? { effort: "none", budgetTokens: 0, source: `request:${field}` }
      : { effort: "high", budgetTokens: budget.value, source: `request:${field}` };
  }
  return word === undefined ? null : fromWord(word, undefined, budgets, source);
}

/** `reasoning.budget_tokens` or a top-level `budget_tokens` (both given: they must agree). */
function budgetOf(
  body: Record<string, unknown>,
  r: Record<string, unknown> | null | undefined,
): { value: number; field: string } | undefined {
  const nested = r ? budgetField(r.budget_tokens, "reasoning.budget_tokens") : undefined;
  const top = budgetField(body.budget_tokens, "budget_tokens");
  if (nested !== undefined && top !== undefined && nested !== top) {
    throw bad("budget_tokens", `${top} contradicts reasoning.budget_tokens ${nested}; send one of them`);
  }
  if (nested !== undefined) return { value: nested, field: "reasoning.budget_tokens" };
  return top === undefined ? undefined : { value: top, field: "budget_tokens" };
}

async function readBody(c: GatewayContext, mode: "always" | "if-json"): Promise<Record<string, unknown> | null> {
  if (!mayHaveBody(c.req.raw)) return null;
  if (mode === "if-json" && !/\bjson\b/i.test(c.req.header("content-type") ?? "")) return null;
  return jsonBody(c);
}

export function reasoning(opts: ReasoningOptions = {}): MiddlewareHandler<GatewayEnv> {
  for (
    const [k, b] of Object.entries({
      ...opts.effortBudgets,
      maxBudgetTokens: opts.maxBudgetTokens,
      default: opts.default?.budgetTokens,
    })
  ) {
    if (b !== undefined && b !== null && !(Number.isSafeInteger(b) && b >= 0)) {
      throw new TypeError(`reasoning option ${k} must be an integer ≥ 0 or null, got ${String(b)}`);
    }
  }
  const mode = opts.readBody ?? "if-json";
  return async (c, next) => {
    c.set("reasoning", resolveReasoning(await readBody(c, mode), opts));
    return next();
  };
}
