/** Parse and check a tekken.json document (model-spec §6.1; mistral-common `Tekkenizer.from_file`). */
import { TokenizerError } from "../tokenizer.ts";
import type { EnumSetting, ImageConfig, ModelSettingsSpec } from "../tokenizer.ts";
import { RankTable } from "./rank-table.ts";

/** Versions mistral-common knows. Any loads for plain encoding; the chat encoder needs v15. */
export const KNOWN_VERSIONS = ["v1", "v2", "v3", "v7", "v11", "v13", "v15"] as const;

export interface TekkenData {
  version: string;
  pattern: string;
  numSpecial: number;
  vocabSize: number;
  /** Token bytes by rank and rank by bytes (rank = id - numSpecial), already cut to vocabSize - numSpecial. */
  ranks: RankTable;
  /** Names of the control tokens by id, filled with `<SPECIAL_i>` up to numSpecial. */
  specialNames: string[];
  image: ImageConfig | null;
  modelSettings: ModelSettingsSpec | null;
}

function fail(msg: string): never {
  throw new TokenizerError(`tekken.json: ${msg}`);
}

function base64Decode(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function int(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    fail(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseEnumSetting(v: unknown, what: string): EnumSetting {
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== "object") fail(`${what} must be an object`);
  if (o.type !== "enum") fail(`${what}.type must be "enum", got ${JSON.stringify(o.type)}`);
  const values = o.values;
  if (!Array.isArray(values) || !values.every((x) => typeof x === "string")) {
    fail(`${what}.values must be a list of strings`);
  }
  if (new Set(values).size !== values.length) fail(`${what}.values has duplicates: ${JSON.stringify(values)}`);
  const acceptsNone = o.accepts_none === true;
  const def = o.default ?? null;
  if (def !== null && typeof def !== "string") fail(`${what}.default must be a string or null`);
  if (def !== null && !acceptsNone) fail(`${what}.default may only be set when accepts_none is true`);
  if (def !== null && !values.includes(def)) {
    fail(`${what}.default ${JSON.stringify(def)} is not one of ${JSON.stringify(values)}`);
  }
  if (values.length === 0 && !acceptsNone) fail(`${what}.values is empty while accepts_none is false`);
  return { type: "enum", acceptsNone, default: def, values: values as string[] };
}

export function parseTekken(doc: unknown): TekkenData {
  const d = doc as Record<string, any>;
  if (!d || typeof d !== "object" || !d.config || typeof d.config !== "object") fail("missing the `config` object");
  const cfg = d.config;
  const version = cfg.version;
  if (typeof version !== "string" || !(KNOWN_VERSIONS as readonly string[]).includes(version)) {
    fail(`unknown tokenizer version ${JSON.stringify(version)}; known versions: ${KNOWN_VERSIONS.join(", ")}`);
  }
  if (typeof cfg.pattern !== "string") fail("config.pattern must be a string");
  const numSpecial = int(cfg.default_num_special_tokens, "config.default_num_special_tokens");
  const vocabSize = int(cfg.default_vocab_size, "config.default_vocab_size");
  if (!Array.isArray(d.vocab)) fail("`vocab` must be a list");
  const inner = vocabSize - numSpecial;
  if (inner < 256) {
    fail(
      `default_vocab_size ${vocabSize} - default_num_special_tokens ${numSpecial} leaves fewer than 256 byte tokens`,
    );
  }
  if (d.vocab.length < inner) {
    fail(`vocab has ${d.vocab.length} entries, fewer than default_vocab_size - default_num_special_tokens = ${inner}`);
  }
  const tokenBytes: Uint8Array[] = new Array(inner);
  for (let i = 0; i < inner; i++) {
    const e = d.vocab[i];
    if (!e || e.rank !== i) {
      fail(`vocab[${i}].rank must be ${i}, got ${JSON.stringify(e?.rank)} (ranks must be 0..n-1 in order)`);
    }
    if (typeof e.token_bytes !== "string") fail(`vocab[${i}].token_bytes must be a base64 string`);
    const b = base64Decode(e.token_bytes);
    if (i < 256 && (b.length !== 1 || b[0] !== i)) {
      fail(`vocab[${i}] must be the single byte ${i} (ranks 0-255 are the bytes)`);
    }
    if (b.length === 0) fail(`vocab[${i}].token_bytes is empty`);
    tokenBytes[i] = b;
  }
  const ranks = new RankTable(tokenBytes);
  if (ranks.firstDuplicate >= 0) fail(`vocab[${ranks.firstDuplicate}] repeats the bytes of an earlier rank`);
  const specials = d.special_tokens;
  if (!Array.isArray(specials)) fail("`special_tokens` must be a list (required for tokenizers after v7)");
  if (specials.length > numSpecial) {
    fail(`special_tokens has ${specials.length} entries, more than default_num_special_tokens = ${numSpecial}`);
  }
  const specialNames: string[] = [];
  for (let i = 0; i < specials.length; i++) {
    const s = specials[i];
    if (!s || s.rank !== i || typeof s.token_str !== "string") {
      fail(`special_tokens[${i}] must have rank ${i} and a token_str`);
    }
    specialNames.push(s.token_str);
  }
  for (let i = specials.length; i < numSpecial; i++) specialNames.push(`<SPECIAL_${i}>`);
  if (new Set(specialNames).size !== specialNames.length) fail("special token names must be unique");
  let image: ImageConfig | null = null;
  if (d.image) {
    const im = d.image;
    image = {
      imagePatchSize: int(im.image_patch_size, "image.image_patch_size"),
      maxImageSize: int(im.max_image_size, "image.max_image_size"),
      spatialMergeSize: im.spatial_merge_size === undefined
        ? 1
        : int(im.spatial_merge_size, "image.spatial_merge_size"),
    };
  }
  let modelSettings: ModelSettingsSpec | null = null;
  if (d.model_settings_builder != null) {
    if (version !== "v15") fail(`model_settings_builder is not supported for version ${version}`);
    const mb = d.model_settings_builder;
    const unknown = Object.keys(mb).filter((k) => k !== "reasoning_effort");
    if (unknown.length) {
      fail(`model_settings_builder has unknown fields ${JSON.stringify(unknown)}; known: ["reasoning_effort"]`);
    }
    modelSettings = {};
    if (mb.reasoning_effort != null) {
      modelSettings.reasoningEffort = parseEnumSetting(mb.reasoning_effort, "model_settings_builder.reasoning_effort");
    }
  }
  return { version, pattern: cfg.pattern, numSpecial, vocabSize, ranks, specialNames, image, modelSettings };
}
