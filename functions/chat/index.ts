/** The chat core: one dialect-free path from a chat request to parsed answer events, under every chat dialect route
 * (OpenAI, Mistral, and the next ones) and under `c.var.model.chat/stream` in functions, so none of them can drift.
 *
 * A dialect adapter does four things (functions/builtin/chat/route.ts is the whole of it for chat completions):
 *
 *   const params: ChatParams = myDialectParams(body); // its own valibot schema → the neutral request; errors name
 *                                                     // the dialect's fields (ChatParams.maxTokens.field, ...)
 *   const plan = planChat({ info: binding.info, params, dialect: "openai", limits, reasoning, vision });
 *       // → plan.encoded.ids (prompt ids), plan.generate (GenerateOptions: sampling, limits, images, constraints)
 *   const run = new ChatRun(plan, { binding, clientSignal, deadline, metrics, clock, startedAt, route });
 *   for await (const updates of run.updates()) for (const { choice, events, finished } of updates) {
 *     // events: ChatEvent (reasoning / content / tool_call_start / tool_call_delta / tool_call_end /
 *     // tool_call_error / logprobs); choice.finishReason once `finished`; run.usage() at the end
 *   }
 *
 * `updates()` throws ClientGone when the client left, an HttpError for a deadline, a RuntimeError for a refusal.
 * Shapes of the answer (JSON, SSE, a dialect's event names) stay in the adapter; see DialectFormat in
 * functions/builtin/chat/format.ts and respondChat in respond.ts for the chat-completions ones. */
export type { ChatEvent, ChoiceOptions, FinishReason, TokenLogprob } from "./choice.ts";
export { ChoiceState } from "./choice.ts";
export { constraintFields, TOOL_CALL_SCHEMAS, toolCallConstraint, ToolChoiceError } from "./constraints.ts";
export type { ToolCallSchemas } from "./constraints.ts";
export type { ChatParams } from "./params.ts";
export { MISTRAL_SAFE_PROMPT, stopList } from "./params.ts";
export type { ChatLimits, ChatPlan, ChatReasoning, PlanInput } from "./plan.ts";
export { checkModel, planChat } from "./plan.ts";
export type { RunContext, Update } from "./run.ts";
export { ChatRun, choiceOptionsOf, ClientGone } from "./run.ts";
