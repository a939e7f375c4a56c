/** Load a model directory's tokenizer: tekken.json when present, else tokenizer.json (DESIGN §3 model directory). */
import { HfTokenizer } from "./hf/hf-tokenizer.ts";
import type { HfOptions } from "./hf/hf-tokenizer.ts";
import { joinPath, readTextFile } from "./io.ts";
import type { ReadText } from "./io.ts";
import { Tekkenizer } from "./tekken/tekken.ts";
import { TokenizerError } from "./tokenizer.ts";
import type { ImageConfig, Tokenizer } from "./tokenizer.ts";

export interface LoadOptions {
  read?: ReadText;
  /** Only for tokenizer.json models: version / settings / image overrides. */
  hf?: HfOptions;
}

function parse(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Image settings of a tokenizer.json model, from config.json's vision_config (Mistral3 / Pixtral layout). */
export function imageConfigFromModelConfig(config: any): ImageConfig | null {
  const v = config?.vision_config;
  if (!v || !Number.isInteger(v.patch_size) || !Number.isInteger(v.image_size)) return null;
  return {
    imagePatchSize: v.patch_size,
    maxImageSize: v.image_size,
    spatialMergeSize: Number.isInteger(config.spatial_merge_size) ? config.spatial_merge_size : 1,
  };
}

export async function loadTokenizer(dir: string, opts: LoadOptions = {}): Promise<Tokenizer> {
  const read = opts.read ?? readTextFile;
  const tekkenPath = joinPath(dir, "tekken.json");
  const tekken = await read(tekkenPath);
  if (tekken !== null) return Tekkenizer.fromJSON(parse(tekken, tekkenPath));
  const tjPath = joinPath(dir, "tokenizer.json");
  const tj = await read(tjPath);
  if (tj === null) throw new TokenizerError(`no tokenizer in ${dir}: looked for tekken.json and tokenizer.json`);
  const cfgText = await read(joinPath(dir, "tokenizer_config.json"));
  const modelCfg = await read(joinPath(dir, "config.json"));
  const image = opts.hf?.image ??
    (modelCfg ? imageConfigFromModelConfig(parse(modelCfg, joinPath(dir, "config.json"))) : null);
  return new HfTokenizer(parse(tj, tjPath), cfgText ? parse(cfgText, joinPath(dir, "tokenizer_config.json")) : {}, {
    ...opts.hf,
    image,
  });
}
