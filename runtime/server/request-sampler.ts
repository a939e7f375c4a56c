// A generate request's sampler: its sampling parameters checked and built, then wrapped in the JSON-schema or
// tool-call constraint it asks for; and the refusal a request gets when admitting it throws.
import { EngineError } from "../engine/request.ts";
import { SchemaError } from "../grammar/schema-grammar.ts";
import { SamplingParamsError } from "../sampling/params.ts";
import { samplerFactory } from "../sampling/sampler-factory.ts";
import type { ErrorCode, GenerateMessage } from "../wire/messages.ts";
import type { ModelHost } from "./model-host.ts";

type Sampler = ReturnType<typeof samplerFactory>;

/** The unconstrained sampler, validated before anything is queued (a bad parameter throws SamplingParamsError). */
export function plainSampler(host: ModelHost, msg: GenerateMessage): Sampler {
  if (msg.toolCalls && msg.responseFormat) {
    throw new SamplingParamsError(
      "toolCalls",
      "toolCalls and responseFormat cannot both constrain one answer; send one",
    );
  }
  const plain = samplerFactory(msg.sampling ?? {}, host.loaded.config.text.vocabSize, msg.promptIds);
  plain(0);
  return plain;
}

/** `plain` under the request's constraint, if any (its grammar is compiled by then: the grammar stage saw to it).
 * `constrained`: optional tool calls count too (the text before a call is free, but a draft could write a name). */
export function constrainedSampler(
  host: ModelHost,
  msg: GenerateMessage,
  plain: Sampler,
): { sampler: Sampler; constrained: boolean } {
  const allowThinking = msg.reasoningBudget !== 0;
  const format = msg.responseFormat, calls = msg.toolCalls;
  if (format) {
    return { sampler: host.jsonConstraints.wrap(plain, msg.promptIds, allowThinking, format), constrained: true };
  }
  if (!calls) return { sampler: plain, constrained: false };
  const sampler = host.jsonConstraints.wrapToolCalls(plain, msg.promptIds, allowThinking, {
    tools: calls.tools,
    parallel: calls.parallel !== false,
    optional: calls.optional === true,
  });
  return { sampler, constrained: true };
}

/** The error frame for what admitting `msg` threw, or null for an unexpected error (an internal one, logged). */
export function admissionRefusal(err: unknown, msg: GenerateMessage): { code: ErrorCode; message: string } | null {
  if (err instanceof EngineError) return { code: err.code, message: err.message };
  if (err instanceof SamplingParamsError) return { code: "invalid_request", message: err.message };
  if (err instanceof SchemaError) {
    return {
      code: "invalid_request",
      message: `${msg.toolCalls ? "toolCalls" : "responseFormat.schema"}: ${err.message}`,
    };
  }
  return null;
}
