// valibot schemas of every frame's JSON, read on both sides: the runtime parses what gateways send (a malformed frame
// is an `invalid_request` error naming the field, never a crash), the gateway parses what the runtime sends. The
// schemas check shapes and types; values (token ids in the vocabulary, sampling ranges, budgets) are the engine's
// and the sampler's to check, since only they know the model, and their messages name the field too.
import * as v from "valibot";
import { ERROR_CODES } from "./messages.ts";
import type {
  AbortMessage,
  AuthMessage,
  ClientMessage,
  DeltasMessage,
  ErrorMessage,
  GenerateMessage,
  HelloMessage,
  ServerMessage,
  StatsMessage,
  StatsRequest,
} from "./messages.ts";

const got = (i: v.BaseIssue<unknown>) => `got ${i.received}`;
const int = (what: string) =>
  v.pipe(v.number((i) => `must be ${what}, ${got(i)}`), v.integer((i) => `must be ${what}, ${got(i)}`));
const str = v.string((i) => `must be a string, ${got(i)}`);
const bool = v.boolean((i) => `must be true or false, ${got(i)}`);
const tokenIds = v.array(int("a token id (an integer)"), (i) => `must be an array of token ids, ${got(i)}`);
const obj = <T extends v.ObjectEntries>(entries: T, what: string) =>
  v.looseObject(entries, (i) => `must be ${what}, ${got(i)}`);

const responseFormatMessage = (i: v.BaseIssue<unknown>) =>
  `must be {"type": "json_object"}, {"type": "json_schema", "schema": …} or absent, got ${JSON.stringify(i.input)}`;

export const generateSchema = obj({
  type: v.literal("generate"),
  id: str,
  promptIds: tokenIds,
  images: v.optional(
    v.array(
      obj({
        width: v.pipe(int("a positive integer"), v.minValue(1, (i) => `must be a positive integer, ${got(i)}`)),
        height: v.pipe(int("a positive integer"), v.minValue(1, (i) => `must be a positive integer, ${got(i)}`)),
        byteOffset: v.pipe(int("an integer ≥ 0"), v.minValue(0, (i) => `must be an integer ≥ 0, ${got(i)}`)),
        hash: str,
      }, "an image {width, height, byteOffset, hash}"),
      (i) => `must be an array of images, ${got(i)}`,
    ),
  ),
  // each field's value is checked by the sampler (runtime/sampling/params.ts), which names it
  sampling: v.optional(obj({}, "an object of sampling parameters")),
  maxTokens: v.optional(int("an integer")),
  stopIds: v.optional(tokenIds),
  ignoreEos: v.optional(bool),
  reasoningBudget: v.nullish(int("an integer or null")),
  priority: v.optional(int("an integer")),
  n: v.optional(int("an integer")),
  speculativeTokens: v.optional(int("an integer")),
  timeoutMs: v.optional(v.number((i) => `must be a number of milliseconds, ${got(i)}`)),
  responseFormat: v.optional(
    v.union([
      v.looseObject({ type: v.literal("json_object") }),
      v.looseObject({ type: v.literal("json_schema"), schema: v.unknown() }),
    ], responseFormatMessage),
  ),
  toolCalls: v.optional(obj({
    tools: v.array(
      obj({ name: str, parameters: v.optional(v.unknown()) }, "a tool {name, parameters?}"),
      (i) => `must be an array of tools, ${got(i)}`,
    ),
    parallel: bool,
    optional: v.optional(bool),
  }, '{"tools": [{"name": …, "parameters"?: …}], "parallel": true|false}')),
}, "a generate message");

export const abortSchema = obj({ type: v.literal("abort"), id: str }, "an abort message");
export const statsRequestSchema = obj({ type: v.literal("stats"), id: str }, "a stats request");
export const authSchema = obj({ type: v.literal("auth"), id: str, token: str }, "an auth message");

const clientSchema = v.variant(
  "type",
  [generateSchema, abortSchema, statsRequestSchema, authSchema],
  (i) => `unknown message type ${i.received}; expected "generate", "abort", "stats" or "auth"`,
);

// a log-probability the runtime did not compute (NaN), or of an impossible token (-Infinity), arrives as JSON null
const logprob = v.nullable(v.number());
const wireToken = v.union([
  v.strictTuple([v.number(), logprob]),
  v.strictTuple([v.number(), logprob, v.array(v.strictTuple([v.number(), logprob]))]),
], (i) => `must be [token, logprob] or [token, logprob, [[token, logprob], ...]], ${got(i)}`);

export const deltasSchema = obj({
  type: v.literal("deltas"),
  deltas: v.array(obj({
    id: str,
    index: int("an integer"),
    tokens: v.array(wireToken),
    forced: v.optional(v.array(int("an integer"))),
    finish: v.nullable(v.picklist(["stop", "length", "abort"])),
    usage: v.optional(obj({}, "a usage object")),
  }, "a delta")),
}, "a deltas message");

export const errorSchema = obj({
  type: v.literal("error"),
  id: v.nullable(str),
  code: v.picklist(ERROR_CODES),
  message: str,
}, "an error message");

export const helloSchema = obj({
  type: v.literal("hello"),
  protocol: int("an integer"),
  model: obj({
    id: str,
    contextLength: int("an integer"),
    vocabSize: int("an integer"),
    bosId: int("an integer"),
    eosId: int("an integer"),
    hasVision: bool,
  }, "the model's facts"),
  limits: obj({}, "the runtime's limits"),
  tokenizer: obj({
    files: v.array(obj({ name: str, byteOffset: int("an integer"), byteLength: int("an integer") }, "a file")),
  }, "the tokenizer's files"),
  image: v.nullable(obj({}, "the image settings")),
  draining: bool,
}, "a hello message");

export const statsSchema = obj({ type: v.literal("stats"), id: str, stats: obj({}, "runtime stats") }, "stats");

const serverSchema = v.variant(
  "type",
  [helloSchema, deltasSchema, errorSchema, statsSchema],
  (i) => `unknown message type ${i.received}; expected "hello", "deltas", "error" or "stats"`,
);

/** A frame whose JSON does not fit its schema; `id` is the request it names, when it names one. */
export class WireError extends Error {
  override name = "WireError";
  constructor(message: string, readonly id: string | null) {
    super(message);
  }
}

function parseWith<T>(schema: v.GenericSchema, raw: unknown): T {
  const r = v.safeParse(schema, raw);
  if (r.success) return r.output as T;
  const issue = r.issues[0];
  const path = (issue.path ?? []).map((p) => (typeof p.key === "number" ? `[${p.key}]` : `.${String(p.key)}`))
    .join("").replace(/^\./, "");
  const id = typeof (raw as { id?: unknown })?.id === "string" ? (raw as { id: string }).id : null;
  throw new WireError(path ? `${path} ${issue.message}` : issue.message, id);
}

/** What a gateway sent, checked; throws WireError naming the field. */
export function parseClientMessage(raw: unknown): ClientMessage {
  if (typeof raw !== "object" || raw === null || typeof (raw as { id?: unknown }).id !== "string") {
    throw new WireError("Every frame needs a type and a string id", null);
  }
  return parseWith<ClientMessage>(clientSchema, raw);
}

/** What the runtime sent, checked; throws WireError naming the field. */
export function parseServerMessage(raw: unknown): ServerMessage {
  return parseWith<ServerMessage>(serverSchema, raw);
}

// The schemas and the message types must agree: each output is assignable to its interface.
type Agrees<S extends v.GenericSchema, T> = v.InferOutput<S> extends T ? true : never;
const agrees: [
  Agrees<typeof generateSchema, GenerateMessage>,
  Agrees<typeof abortSchema, AbortMessage>,
  Agrees<typeof statsRequestSchema, StatsRequest>,
  Agrees<typeof authSchema, AuthMessage>,
  Agrees<typeof errorSchema, ErrorMessage>,
] = [true, true, true, true, true];
void agrees;
export type { DeltasMessage, HelloMessage, StatsMessage };
