// The request's tools: each a function with a valid name, an optional description and a JSON Schema for parameters.
import { ChatRequestError } from "../errors.ts";
import { isObj } from "./is-obj.ts";
import type { ChatRequest, Tool } from "./types.ts";

export const FUNCTION_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

export function checkName(name: unknown, path: string): void {
  if (typeof name !== "string" || !FUNCTION_NAME_RE.test(name)) {
    throw new ChatRequestError(
      path,
      "function-name",
      `function name ${JSON.stringify(name)} is not valid`,
      "1-64 characters from a-z, A-Z, 0-9, _ and - (^[a-zA-Z0-9_-]{1,64}$)",
    );
  }
}

export function readTools(req: ChatRequest): Tool[] | null {
  const raw = req.tools;
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) {
    throw new ChatRequestError("tools", "shape", "tools must be a list", "a list of tool objects");
  }
  return raw.map((t, k) => {
    const p = `tools[${k}]`;
    if (!isObj(t) || !isObj(t.function)) {
      throw new ChatRequestError(
        p,
        "tool-shape",
        "a tool must be an object with a `function` object",
        '{"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}',
      );
    }
    if (t.type !== undefined && t.type !== "function") {
      throw new ChatRequestError(
        `${p}.type`,
        "tool-shape",
        `tool type ${JSON.stringify(t.type)} is not supported`,
        '"function"',
      );
    }
    const f = t.function;
    checkName(f.name, `${p}.function.name`);
    if (f.description !== undefined && f.description !== null && typeof f.description !== "string") {
      throw new ChatRequestError(`${p}.function.description`, "tool-shape", "description must be a string", "a string");
    }
    if (f.parameters !== undefined && f.parameters !== null && !isObj(f.parameters)) {
      throw new ChatRequestError(
        `${p}.function.parameters`,
        "tool-shape",
        "parameters must be a JSON Schema object",
        "an object",
      );
    }
    return { name: f.name, description: f.description ?? "", parameters: f.parameters ?? {} };
  });
}
