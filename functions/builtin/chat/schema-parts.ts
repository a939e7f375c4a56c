/** valibot pieces shared by the OpenAI and Mistral chat request schemas. Shapes are checked here with messages
 * that say what is allowed; message contents (chunks, tool calls, ids) are checked by the chat encoder, whose
 * errors also name the field. Unknown top-level fields pass (clients send `user`, `metadata`, ...). */
import * as v from "valibot";
import type { InputMessage, InputTool } from "../../../runtime/text/chat/types.ts";
import { stopList } from "../../chat/params.ts";

const ROLES = ["system", "user", "assistant", "tool", "developer"] as const;

const typeMsg = (what: string) => (issue: v.BaseIssue<unknown>) => `must be ${what}, got ${issue.received}`;

export const num = (what = "a number") => v.number(typeMsg(what));

export const int = (min: number, max = Number.MAX_SAFE_INTEGER, what?: string) =>
  v.pipe(
    v.number(typeMsg(what ?? `an integer ≥ ${min}`)),
    v.safeInteger(typeMsg(what ?? `an integer ≥ ${min}`)),
    v.minValue(min, (i) => `must be ${what ?? `an integer ≥ ${min}`}, got ${i.received}`),
    v.maxValue(max, (i) => `must be ${what ?? `at most ${max}`}, got ${i.received}`),
  );

export const range = (min: number, max: number, what: string, minExclusive = false) =>
  v.pipe(
    v.number(typeMsg(what)),
    v.finite(typeMsg(what)),
    v.check((x) => (minExclusive ? x > min : x >= min) && x <= max, (i) => `must be ${what}, got ${i.received}`),
  );

export const opt = <T extends v.GenericSchema>(s: T) => v.nullish(s);

export const messageSchema = v.looseObject({
  role: v.picklist(
    ROLES,
    (i) => `unknown role ${i.received}; allowed: system, user, assistant, tool (developer = system)`,
  ),
  content: v.nullish(v.union([v.string(), v.array(v.unknown())], typeMsg("a string or a list of content chunks"))),
});

export const messagesSchema = v.pipe(
  v.array(messageSchema, typeMsg("a list of messages")),
  v.minLength(1, "the conversation has no messages; send at least one user message"),
);

export const toolsSchema = opt(v.array(v.unknown(), typeMsg("a list of tools")));

export const stopSchema = opt(
  v.union(
    [
      v.pipe(v.string(), v.minLength(1, "a stop sequence cannot be empty")),
      v.pipe(
        v.array(
          v.pipe(v.string(typeMsg("a string")), v.minLength(1, "a stop sequence cannot be empty")),
          typeMsg("a string or a list of strings"),
        ),
        v.maxLength(16, "at most 16 stop sequences"),
      ),
    ],
    typeMsg("a string or a list of strings"),
  ),
);

/** Fields both dialects share (sampling, limits, streaming). */
export const commonFields = {
  model: opt(v.string(typeMsg("a model id string"))),
  messages: messagesSchema,
  tools: toolsSchema,
  stream: opt(v.boolean(typeMsg("true or false"))),
  max_tokens: opt(int(1, Number.MAX_SAFE_INTEGER, "an integer ≥ 1")),
  temperature: opt(range(0, Number.MAX_VALUE, "a number ≥ 0 (0 = greedy)")),
  top_p: opt(range(0, 1, "in (0, 1]", true)),
  stop: stopSchema,
  n: opt(int(1, Number.MAX_SAFE_INTEGER, "an integer ≥ 1")),
  presence_penalty: opt(range(-2, 2, "in [-2, 2]")),
  frequency_penalty: opt(range(-2, 2, "in [-2, 2]")),
  response_format: opt(v.looseObject({ type: v.string(typeMsg("a string")) })),
  parallel_tool_calls: opt(v.boolean(typeMsg("true or false"))),
  // vLLM-style extensions, accepted in both dialects
  top_k: opt(int(-1, Number.MAX_SAFE_INTEGER, "-1 or 0 (off) or an integer ≥ 1")),
  min_p: opt(range(0, 1, "in [0, 1]")),
  repetition_penalty: opt(range(0, Number.MAX_VALUE, "a number > 0 (1 = off)", true)),
  stop_token_ids: opt(
    v.array(int(0, Number.MAX_SAFE_INTEGER, "a token id (integer ≥ 0)"), typeMsg("a list of token ids")),
  ),
  ignore_eos: opt(v.boolean(typeMsg("true or false"))),
  continue_final_message: opt(v.boolean(typeMsg("true or false"))),
  priority: opt(int(-1_000_000, 1_000_000, "an integer")),
};

const commonRequest = v.looseObject(commonFields);

/** The ChatParams fields both dialects spell the same way, from a parsed request (null → absent or default). */
export function commonParams(r: v.InferOutput<typeof commonRequest>) {
  return {
    model: r.model ?? null,
    messages: r.messages as unknown as InputMessage[],
    tools: (r.tools ?? null) as InputTool[] | null,
    temperature: r.temperature ?? undefined,
    topP: r.top_p ?? undefined,
    topK: r.top_k ?? undefined,
    minP: r.min_p ?? undefined,
    presencePenalty: r.presence_penalty ?? undefined,
    frequencyPenalty: r.frequency_penalty ?? undefined,
    repetitionPenalty: r.repetition_penalty ?? undefined,
    stop: stopList(r.stop),
    stopTokenIds: r.stop_token_ids ?? [],
    n: r.n ?? 1,
    stream: r.stream === true,
    ignoreEos: r.ignore_eos === true,
    continueFinal: r.continue_final_message === true,
    priority: r.priority ?? undefined,
  };
}
