/**
 * A Hugging Face tokenizer.json behind the `Tokenizer` interface, via `@huggingface/tokenizers`.
 * Control tokens (special added tokens) are removed from the copy the library encodes with, so user text can never
 * produce them; they are looked up by name here. Decoding works on token bytes (byte-level BPE), so incremental
 * detokenization stays UTF-8 safe.
 */
import { Tokenizer as HfLib } from "@huggingface/tokenizers";
import { TokenizerError } from "../tokenizer.ts";
import type { ControlPolicy, ImageConfig, ModelSettingsSpec, Tokenizer } from "../tokenizer.ts";
import { concatBytes, utf8Decode, utf8Encode } from "../utf8.ts";
import { byteLevelTokenBytes } from "./byte-level.ts";

export interface HfOptions {
  /** Instruct version; default: "v15" when the vocabulary has [MODEL_SETTINGS], else null. */
  version?: string | null;
  /** Default for v15: reasoning_effort none|high, default none (what Mistral's v15 tekken.json declares). */
  modelSettings?: ModelSettingsSpec | null;
  image?: ImageConfig | null;
}

export const V15_DEFAULT_SETTINGS: ModelSettingsSpec = {
  reasoningEffort: { type: "enum", acceptsNone: true, default: "none", values: ["none", "high"] },
};

const EMPTY = new Uint8Array(0);

function usesByteLevel(node: any): boolean {
  if (!node || typeof node !== "object") return false;
  if (node.type === "ByteLevel") return true;
  return Array.isArray(node.decoders) && node.decoders.some(usesByteLevel);
}

export class HfTokenizer implements Tokenizer {
  readonly kind = "hf" as const;
  readonly version: string | null;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly image: ImageConfig | null;
  readonly modelSettings: ModelSettingsSpec | null;
  private readonly lib: HfLib;
  private readonly names = new Map<number, string>();
  private readonly byName = new Map<string, number>();
  private readonly byteLevel: boolean;
  private readonly bytesCache: Array<Uint8Array | undefined> = [];

  constructor(tokenizerJson: unknown, tokenizerConfig: unknown = {}, opts: HfOptions = {}) {
    const doc = tokenizerJson as any;
    if (!doc || typeof doc !== "object" || !doc.model) {
      throw new TokenizerError("tokenizer.json: missing the `model` object");
    }
    const added: any[] = Array.isArray(doc.added_tokens) ? doc.added_tokens : [];
    let maxId = -1;
    for (const t of added) {
      maxId = Math.max(maxId, t.id);
      if (t.special) {
        this.names.set(t.id, t.content);
        this.byName.set(t.content, t.id);
      }
    }
    const vocab = doc.model.vocab;
    if (vocab && typeof vocab === "object" && !Array.isArray(vocab)) {
      for (const id of Object.values(vocab) as number[]) {
        maxId = Math.max(maxId, id);
      }
    }
    this.vocabSize = maxId + 1;
    // the library only ever sees non-special added tokens: text cannot turn into control ids
    const safe = { ...doc, added_tokens: added.filter((t) => !t.special), post_processor: null };
    try {
      this.lib = new HfLib(safe, tokenizerConfig ?? {});
    } catch (e) {
      throw new TokenizerError(`tokenizer.json could not be loaded: ${(e as Error).message}`);
    }
    this.byteLevel = usesByteLevel(doc.decoder);
    const cfg = (tokenizerConfig ?? {}) as any;
    const tokName = (v: unknown) => (typeof v === "string" ? v : (v as any)?.content);
    this.bosId = this.byName.get("<s>") ?? this.byName.get(tokName(cfg.bos_token)) ?? -1;
    this.eosId = this.byName.get("</s>") ?? this.byName.get(tokName(cfg.eos_token)) ?? -1;
    if (this.bosId < 0 || this.eosId < 0) {
      throw new TokenizerError("tokenizer.json: no special <s> / </s> tokens (BOS and EOS are required)");
    }
    this.version = opts.version !== undefined ? opts.version : this.byName.has("[MODEL_SETTINGS]") ? "v15" : null;
    this.modelSettings = opts.modelSettings !== undefined
      ? opts.modelSettings
      : this.version === "v15"
      ? V15_DEFAULT_SETTINGS
      : null;
    this.image = opts.image ?? null;
  }

  encode(text: string): number[] {
    const ids = this.lib.encode(text, { add_special_tokens: false }).ids;
    for (const id of ids) {
      if (this.names.has(id)) {
        throw new TokenizerError(
          `tokenizer.json produced control token ${
            this.names.get(id)
          } from plain text; refusing (the vocabulary's merges can build a control token)`,
        );
      }
    }
    return ids;
  }

  decode(ids: ArrayLike<number>, policy: ControlPolicy = "drop"): string {
    let out = "";
    let run: number[] = [];
    const flush = () => {
      if (!run.length) return;
      if (this.byteLevel) out += utf8Decode(concatBytes(run.map((id) => this.tokenBytes(id))));
      else out += this.lib.decode(run, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.check(id);
      if (this.names.has(id)) {
        flush();
        if (policy === "show") out += this.names.get(id);
      } else run.push(id);
    }
    flush();
    return out;
  }

  tokenBytes(id: number): Uint8Array {
    this.check(id);
    if (this.names.has(id)) return EMPTY;
    const hit = this.bytesCache[id];
    if (hit) return hit;
    const token = this.lib.id_to_token(id);
    let b: Uint8Array | null = null;
    if (token !== undefined && this.byteLevel) b = byteLevelTokenBytes(token);
    if (!b) b = utf8Encode(this.lib.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
    this.bytesCache[id] = b;
    return b;
  }

  isControl(id: number): boolean {
    return this.names.has(id);
  }

  controlId(name: string): number {
    const id = this.byName.get(name);
    if (id === undefined) {
      throw new TokenizerError(`control token ${name} is not a special token of this tokenizer.json`);
    }
    return id;
  }

  findControl(name: string): number | undefined {
    return this.byName.get(name);
  }

  controlName(id: number): string | undefined {
    return this.names.get(id);
  }

  private check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id} is out of range: ids are integers 0..${this.vocabSize - 1}`);
    }
  }
}
