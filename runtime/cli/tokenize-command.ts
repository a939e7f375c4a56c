/** `gust tokenize --model DIR (--messages FILE | --text STR) [--json] [--bos] [--reasoning-effort none|high]
 * [--dialect openai|mistral]`: the ids and the decoded text with control tokens written as their names. */
import { readTextFile } from "../text/io.ts";
import type { ReadText } from "../text/io.ts";
import { loadTokenizer } from "../text/load.ts";
import { renderIds } from "../text/render.ts";
import { buildPrompt } from "./run-support.ts";
import type { Dialect } from "../text/chat/input.ts";

export const TOKENIZE_USAGE =
  "usage: gust tokenize --model DIR (--messages FILE | --text STR) [--json] [--bos] [--reasoning-effort none|high] [--dialect openai|mistral]";

export { UsageError } from "../text/errors.ts";
import { UsageError } from "../text/errors.ts";

interface Args {
  model?: string;
  messages?: string;
  text?: string;
  json: boolean;
  bos: boolean;
  reasoningEffort?: string;
  dialect?: Dialect;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, bos: false };
  const value = (i: number, flag: string) => {
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`${flag} needs a value\n${TOKENIZE_USAGE}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === "--model") a.model = value(i++, f);
    else if (f === "--messages") a.messages = value(i++, f);
    else if (f === "--text") a.text = value(i++, f);
    else if (f === "--reasoning-effort") a.reasoningEffort = value(i++, f);
    else if (f === "--dialect") {
      const d = value(i++, f);
      if (d !== "openai" && d !== "mistral") {
        throw new UsageError(`--dialect must be openai or mistral, got ${d}\n${TOKENIZE_USAGE}`);
      }
      a.dialect = d;
    } else if (f === "--json") a.json = true;
    else if (f === "--bos") a.bos = true;
    else throw new UsageError(`unknown argument ${f}\n${TOKENIZE_USAGE}`);
  }
  if (!a.model) throw new UsageError(`--model DIR is required\n${TOKENIZE_USAGE}`);
  if ((a.messages === undefined) === (a.text === undefined)) {
    throw new UsageError(`give exactly one of --messages FILE and --text STR\n${TOKENIZE_USAGE}`);
  }
  if (a.text !== undefined && (a.reasoningEffort !== undefined || a.dialect !== undefined)) {
    throw new UsageError(`--reasoning-effort and --dialect apply to --messages only\n${TOKENIZE_USAGE}`);
  }
  return a;
}

/** Runs the command and returns what it prints (JSON `{ids, text}` with --json). Errors: UsageError for bad
 * arguments, ChatRequestError for a bad messages file, TokenizerError for a bad tokenizer. */
export async function tokenizeCommand(argv: string[], read: ReadText = readTextFile): Promise<string> {
  const a = parseArgs(argv);
  const tok = await loadTokenizer(a.model!, { read });
  let ids: number[];
  let images: unknown[] = [];
  if (a.text !== undefined) {
    ids = [...(a.bos ? [tok.bosId] : []), ...tok.encode(a.text)];
  } else {
    const body = await read(a.messages!);
    if (body === null) throw new UsageError(`--messages: no such file ${a.messages}`);
    const enc = buildPrompt(tok, { messagesJson: body, reasoningEffort: a.reasoningEffort }, { dialect: a.dialect });
    ids = enc.ids;
    images = enc.images.map(({ width, height, cols, rows, offset }) => ({ width, height, cols, rows, offset }));
  }
  if (a.json) {
    const text = tok.decode(ids, "show");
    return JSON.stringify(images.length ? { ids, text, images } : { ids, text });
  }
  // human-readable: controls by name, look-alike text escaped (\[INST]) so the two cannot be confused
  return `${renderIds(tok, ids)}\n${ids.join(",")}`;
}
