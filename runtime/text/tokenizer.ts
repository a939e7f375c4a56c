/** The one tokenizer interface the gateway, the chat encoder and the output parsers use.
 * Two implementations: Tekken (tekken.json, ./tekken/) and Hugging Face tokenizer.json (./hf/). */

/** How decoding treats control (special) tokens: drop them (mistral-common's IGNORE) or write their names (KEEP). */
export type ControlPolicy = "drop" | "show";

/** `image` block of tekken.json (model-spec §4.4, §6.1). */
export interface ImageConfig {
  imagePatchSize: number;
  maxImageSize: number;
  spatialMergeSize: number;
}

/** One field of tekken.json's `model_settings_builder` (mistral-common `EnumBuilder`). */
export interface EnumSetting {
  type: "enum";
  acceptsNone: boolean;
  default: string | null;
  values: string[];
}

/** tekken.json `model_settings_builder`; absent fields are unsupported settings. */
export interface ModelSettingsSpec {
  reasoningEffort?: EnumSetting;
}

export interface Tokenizer {
  readonly kind: "tekken" | "hf";
  /** Tokenizer version string ("v15"), or null where the file does not say (tokenizer.json without options). */
  readonly version: string | null;
  /** Total number of ids (controls + ordinary tokens). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly image: ImageConfig | null;
  /** null: the tokenizer has no model settings builder (pre-v15, or an HF file without options). */
  readonly modelSettings: ModelSettingsSpec | null;
  /** Encode plain text. Never yields a control id, whatever the text contains. */
  encode(text: string): number[];
  /** Decode ids; control tokens dropped (default) or written as their names. Invalid UTF-8 becomes U+FFFD. */
  decode(ids: ArrayLike<number>, policy?: ControlPolicy): string;
  /** The bytes of one ordinary token; an empty array for a control token. */
  tokenBytes(id: number): Uint8Array;
  isControl(id: number): boolean;
  /** Control id by name ("[INST]"); throws a TokenizerError naming the token if the vocabulary lacks it. */
  controlId(name: string): number;
  /** Control id by name, or undefined. */
  findControl(name: string): number | undefined;
  /** The name of a control id, or undefined for an ordinary token. */
  controlName(id: number): string | undefined;
}

/** Any error about a tokenizer file or a token id. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}
