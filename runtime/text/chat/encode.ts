/** Instruct v15 chat encoding exactly as mistral-common's InstructTokenizerV15 does it (instruct.py), on top of
 * the input reader, the validator and the normalizer beside this file. Model-spec §7. */
import { ChatRequestError } from "../errors.ts";
import { pyDumps, pyLoads, tryPyLoads } from "../json/pyjson.ts";
import { TokenizerError } from "../tokenizer.ts";
import type { Tokenizer } from "../tokenizer.ts";
import { aggregateMessages } from "./aggregate.ts";
import { imageGrid, imageTokens } from "./image-size.ts";
import { readMessages } from "./input.ts";
import { readTools } from "./tools-input.ts";
import type { InputOptions } from "./input.ts";
import type { ChatRequest, Chunk, Content, ImageRef, Message, Tool, ToolCall } from "./types.ts";
import { buildSettings, validateMessages } from "./validate.ts";

export interface EncodedImage extends ImageRef {
  /** Token grid: `cols` [IMG] per row, `rows` rows. */
  cols: number;
  rows: number;
  /** Index in `ids` of this image's first token. */
  offset: number;
}

export interface EncodedChat {
  ids: number[];
  /** Images in prompt order, with their token grids (the order the vision features are merged in). */
  images: EncodedImage[];
  /** The tokens of the final assistant message when the request ends with one (prefix / continue). */
  prefixIds: number[] | null;
  /** The model settings written into [MODEL_SETTINGS] ({} when none). */
  settings: { reasoning_effort?: string };
}

export interface EncodeOptions extends InputOptions {
  /** The model's context: a prompt sure to be longer is refused (ChatRequestError context_length_exceeded) before its
   * text is tokenized, which for a 30 MB message would hold the gateway's event loop for many seconds. */
  maxIds?: number;
}

/** The longest token of a vocabulary, in bytes (memoised per tokenizer). Every byte of a text belongs to exactly one
 * token, so a text of n UTF-16 units (at least n UTF-8 bytes) becomes at least ceil(n / longest) tokens. */
const longestToken = new WeakMap<Tokenizer, number>();
function longestTokenBytes(tok: Tokenizer): number {
  let longest = longestToken.get(tok);
  if (longest === undefined) {
    longest = 1;
    for (let id = 0; id < tok.vocabSize; id++) longest = Math.max(longest, tok.tokenBytes(id).length);
    longestToken.set(tok, longest);
  }
  return longest;
}

/** The fewest tokens `text` can become with `tok` (see longestTokenBytes): a bound known before tokenizing. */
export const minTokens = (tok: Tokenizer, text: string): number => Math.ceil(text.length / longestTokenBytes(tok));

/** Encode an OpenAI-style / Mistral-style chat request to prompt ids. Throws ChatRequestError on a bad request. */
export function encodeChat(tok: Tokenizer, req: ChatRequest, opts: EncodeOptions = {}): EncodedChat {
  if (tok.version !== "v15") {
    throw new TokenizerError(
      `chat encoding needs an instruct v15 tokenizer; this tokenizer is ${
        tok.version ?? "of unknown version"
      } (supported: v15)`,
    );
  }
  const messages = readMessages(req, opts);
  const tools = readTools(req);
  if (req.continue_final_message !== undefined && typeof req.continue_final_message !== "boolean") {
    throw new ChatRequestError(
      "continue_final_message",
      "shape",
      "continue_final_message must be a boolean",
      "true, false",
    );
  }
  const continueFinal = req.continue_final_message === true;
  validateMessages(messages, continueFinal);
  if (tok.modelSettings === null) {
    throw new TokenizerError(
      "v15 chat encoding needs the tokenizer's model_settings_builder (tekken.json) or one given when loading tokenizer.json",
    );
  }
  const settings = buildSettings(tok.modelSettings, req.reasoning_effort);
  return new V15Encoder(tok, opts.maxIds ?? Infinity).encode(
    aggregateMessages(messages),
    tools,
    settings,
    continueFinal,
  );
}

/** The same from request JSON text, parsed the way Python's json.loads would (keeps 1.0 as a float, key order). */
export function encodeChatJson(tok: Tokenizer, json: string, opts: EncodeOptions = {}): EncodedChat {
  let req: unknown;
  try {
    req = pyLoads(json);
  } catch (e) {
    throw new ChatRequestError(
      "request",
      "json",
      `the request is not valid JSON: ${(e as Error).message}`,
      "a JSON object",
    );
  }
  return encodeChat(tok, req as ChatRequest, opts);
}

class V15Encoder {
  private readonly c: (name: string) => number;
  private images: EncodedImage[] = [];
  private ids: number[] = [];

  constructor(private readonly tok: Tokenizer, private readonly maxIds: number) {
    this.c = (name) => tok.controlId(name);
  }

  /** Appends the tokens of `text`, unless they cannot fit in maxIds whatever they turn out to be. */
  private text(text: string): void {
    if (this.maxIds !== Infinity) {
      const atLeast = this.ids.length + minTokens(this.tok, text);
      if (atLeast > this.maxIds) {
        throw new ChatRequestError(
          "messages",
          "context_length_exceeded",
          `the prompt is at least ${atLeast} tokens and the model's context holds ${this.maxIds}; shorten the conversation`,
        );
      }
    }
    // no spread (ids.push(...more)): a million ids as arguments overflow the stack
    const more = this.tok.encode(text);
    for (let i = 0; i < more.length; i++) this.ids.push(more[i]);
  }

  encode(
    messages: Message[],
    tools: Tool[] | null,
    settings: { reasoning_effort?: string },
    continueFinal: boolean,
  ): EncodedChat {
    const firstUser = messages.findIndex((m) => m.role === "user");
    this.ids = [this.tok.bosId];
    let prefixIds: number[] | null = null;
    messages.forEach((m, i) => {
      const start = this.ids.length;
      if (m.role === "system") {
        this.ids.push(this.c("[SYSTEM_PROMPT]"));
        this.content(m.content, false, m.index);
        this.ids.push(this.c("[/SYSTEM_PROMPT]"));
      } else if (m.role === "user") {
        if (i === firstUser) {
          if (tools && tools.length) {
            const dumped = tools.map((t) => ({
              type: "function",
              function: { name: t.name, description: t.description, parameters: t.parameters },
            }));
            this.ids.push(this.c("[AVAILABLE_TOOLS]"));
            this.text(pyDumps(dumped));
            this.ids.push(this.c("[/AVAILABLE_TOOLS]"));
          }
          if (settings.reasoning_effort !== undefined) {
            this.ids.push(this.c("[MODEL_SETTINGS]"));
            this.text(pyDumps(settings, { sortKeys: true }));
            this.ids.push(this.c("[/MODEL_SETTINGS]"));
          }
        }
        this.ids.push(this.c("[INST]"));
        this.content(typeof m.content === "string" ? m.content : imageFirst(m.content), false, m.index);
        this.ids.push(this.c("[/INST]"));
      } else if (m.role === "tool") {
        this.ids.push(this.c("[TOOL_RESULTS]"));
        this.content(m.content, false, m.index);
        this.ids.push(this.c("[/TOOL_RESULTS]"));
      } else {
        const hasContent = typeof m.content === "string"
          ? m.content.length > 0
          : Array.isArray(m.content) && m.content.length > 0;
        if (!hasContent && !(m.toolCalls && m.toolCalls.length)) {
          throw new ChatRequestError(
            `messages[${m.index}]`,
            "assistant-empty",
            "an assistant message needs content or tool_calls",
            "non-empty content, tool_calls, or both",
          );
        }
        if (hasContent) this.content(m.content!, true, m.index);
        for (const call of m.toolCalls ?? []) this.toolCall(call);
        const isLast = i === messages.length - 1;
        if (!m.prefix && !(continueFinal && isLast)) this.ids.push(this.tok.eosId);
        if (isLast) prefixIds = this.ids.slice(start);
      }
    });
    return { ids: this.ids, images: this.images, prefixIds, settings };
  }

  private content(content: Content, assistant: boolean, index: number): void {
    if (typeof content === "string") {
      // mistral-common right-strips spaces of string assistant content
      this.text(assistant ? content.replace(/ +$/, "") : content);
      return;
    }
    for (const chunk of content) this.chunk(chunk, index);
  }

  private chunk(chunk: Chunk, index: number): void {
    if (chunk.type === "text") this.text(chunk.text);
    else if (chunk.type === "thinking") {
      this.ids.push(this.c("[THINK]"));
      this.text(chunk.thinking);
      if (chunk.closed) this.ids.push(this.c("[/THINK]"));
    } else {
      const cfg = this.tok.image;
      if (!cfg) {
        throw new ChatRequestError(
          `messages[${index}].content`,
          "image-unsupported",
          "this model's tokenizer has no image configuration, so it cannot take images",
          "text only",
        );
      }
      const grid = imageGrid(chunk.image, cfg);
      if (grid.cols <= 0 || grid.rows <= 0) {
        throw new ChatRequestError(
          `messages[${index}].content`,
          "image-size",
          `image ${chunk.image.width}x${chunk.image.height} is too thin to give one token row and column`,
          "images whose shorter side survives scaling to max_image_size",
        );
      }
      this.images.push({ ...chunk.image, ...grid, offset: this.ids.length });
      this.ids.push(
        ...imageTokens(grid, { img: this.c("[IMG]"), imgBreak: this.c("[IMG_BREAK]"), imgEnd: this.c("[IMG_END]") }),
      );
    }
  }

  private toolCall(call: ToolCall): void {
    this.ids.push(this.c("[TOOL_CALLS]"));
    this.text(call.name);
    this.ids.push(this.c("[ARGS]"));
    this.text(normalizeArguments(call.arguments));
  }
}

/** The arguments text mistral-common writes: json.dumps(json.loads(args)); "" -> "{}"; invalid JSON -> a JSON string. */
export function normalizeArguments(args: string): string {
  if (args.length === 0) return "{}";
  const parsed = tryPyLoads(args);
  return parsed.ok ? pyDumps(parsed.value) : pyDumps(args);
}

/** mistral-common `_maybe_put_image_first`: [text..., image] -> [image, text...]. */
function imageFirst(chunks: Chunk[]): Chunk[] {
  const last = chunks[chunks.length - 1];
  if (chunks.length >= 2 && last.type === "image" && chunks.slice(0, -1).every((c) => c.type === "text")) {
    return [last, ...chunks.slice(0, -1)];
  }
  return chunks;
}
