// Finds and reads a model directory's configuration: config.json (Hugging Face) or params.json (Mistral).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseHfConfig } from "./hf-config.ts";
import { parseNativeParams } from "./native-params.ts";
import { ConfigError, type ModelConfig } from "./text-config.ts";
import type { Json } from "./fields.ts";

function readJson(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(path, ["expected a JSON object"]);
  }
  return value as Json;
}

export function loadModelConfig(dir: string): ModelConfig {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ConfigError(dir, [
      "model directory does not exist (pass --model with a folder holding config.json or params.json)",
    ]);
  }
  const hf = join(dir, "config.json");
  const native = join(dir, "params.json");
  if (existsSync(hf)) return parseHfConfig(readJson(hf), dir, hf);
  if (existsSync(native)) return parseNativeParams(readJson(native), dir, native);
  throw new ConfigError(dir, ["neither config.json (Hugging Face layout) nor params.json (Mistral layout) is present"]);
}
