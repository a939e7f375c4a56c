/** OpenAI Responses `instructions` + `input` → the chat core's messages. Items map one to one where they can:
 *   message (system/developer/user/assistant; input_text, output_text, input_image parts) → that message
 *   reasoning (its reasoning_text content, else its summary)  → the thinking of the next assistant turn
 *   function_call                                             → a tool call of the (open) assistant turn
 *   function_call_output                                      → a tool message answering that call_id
 * Consecutive calls join one assistant turn (parallel calls), and a call right after assistant text joins that
 * text's turn, as chat completions would carry them. `paths[k]` says which `input[i]` message k came from, so an
 * encoder error about messages[k] names the client's own field. */
import type { InputChunk, InputMessage } from "../../../runtime/text/chat/types.ts";
import { bad, type Json, list, object, optStr, str } from "../dialect-fields.ts";

export interface ConvertedInput {
  messages: InputMessage[];
  paths: string[];
}

const ROLES = ["system", "developer", "user", "assistant"] as const;

function parts(content: unknown, field: string, role: string): string | InputChunk[] {
  if (typeof content === "string") return content;
  return list(content, field).map((raw, j) => {
    const p = object(raw, `${field}[${j}]`);
    const at = `${field}[${j}]`;
    switch (p.type) {
      case "input_text":
      case "output_text":
      case "text":
      case "summary_text":
      case "reasoning_text":
        return { type: "text", text: str(p.text, `${at}.text`) };
      case "refusal":
        return { type: "text", text: str(p.refusal, `${at}.refusal`) };
      case "input_image": {
        if (role === "assistant") throw bad(`${at}.type`, "an assistant message cannot carry images");
        if (p.file_id !== undefined && p.file_id !== null) {
          throw bad(`${at}.file_id`, "gust has no file store; send the image as image_url (a data: or https: URL)");
        }
        return { type: "image_url", image_url: { url: str(p.image_url, `${at}.image_url`) } };
      }
      default:
        throw bad(
          `${at}.type`,
          `unknown content part ${
            JSON.stringify(p.type)
          }; allowed: input_text, input_image (user), output_text (assistant)`,
        );
    }
  });
}

function reasoningText(item: Json, at: string): string {
  const content = item.content === undefined || item.content === null ? [] : list(item.content, `${at}.content`);
  const own = content.map((c, k) => str(object(c, `${at}.content[${k}]`).text, `${at}.content[${k}].text`));
  if (own.length > 0) return own.join("");
  const summary = item.summary === undefined || item.summary === null ? [] : list(item.summary, `${at}.summary`);
  return summary.map((s, k) => str(object(s, `${at}.summary[${k}]`).text, `${at}.summary[${k}].text`)).join("\n");
}

function toolOutput(output: unknown, at: string): string | InputChunk[] {
  if (typeof output === "string") return output;
  return parts(output, at, "tool");
}

export function convertInput(instructions: unknown, input: unknown): ConvertedInput {
  const messages: InputMessage[] = [];
  const paths: string[] = [];
  const push = (m: InputMessage, path: string) => {
    messages.push(m);
    paths.push(path);
  };
  const system = optStr(instructions, "instructions");
  if (system) push({ role: "system", content: system }, "instructions");
  if (typeof input === "string") {
    push({ role: "user", content: input }, "input");
    return { messages, paths };
  }
  let thinking: string | null = null;
  /** The assistant turn tool calls may still join (none after a user or tool message). */
  let open: InputMessage | null = null;
  list(input, "input").forEach((raw, i) => {
    const at = `input[${i}]`;
    const item = object(raw, at);
    const type = item.type ?? (item.role !== undefined ? "message" : undefined);
    if (type === "message") {
      const role = str(item.role, `${at}.role`);
      if (!(ROLES as readonly string[]).includes(role)) {
        throw bad(`${at}.role`, `unknown role ${JSON.stringify(role)}; allowed: ${ROLES.join(", ")}`);
      }
      const m: InputMessage = {
        role: role as InputMessage["role"],
        content: parts(item.content, `${at}.content`, role),
      };
      if (role === "assistant" && thinking !== null) m.reasoning = thinking;
      if (role === "assistant") thinking = null;
      push(m, at);
      open = role === "assistant" ? m : null;
    } else if (type === "reasoning") {
      thinking = (thinking ?? "") + reasoningText(item, at);
    } else if (type === "function_call") {
      const call = {
        id: str(item.call_id, `${at}.call_id`),
        type: "function" as const,
        function: { name: str(item.name, `${at}.name`), arguments: str(item.arguments, `${at}.arguments`) },
      };
      if (open === null) {
        open = { role: "assistant", content: null, tool_calls: [] };
        if (thinking !== null) open.reasoning = thinking;
        thinking = null;
        push(open, at);
      }
      open.tool_calls = [...(open.tool_calls ?? []), call];
    } else if (type === "function_call_output") {
      push({
        role: "tool",
        tool_call_id: str(item.call_id, `${at}.call_id`),
        content: toolOutput(item.output, `${at}.output`),
      }, at);
      open = null;
    } else if (type === "item_reference") {
      throw bad(`${at}.type`, "item references need stored items; send the items themselves (gust keeps none by id)");
    } else {
      throw bad(
        `${at}.type`,
        `unknown input item ${JSON.stringify(type)}; allowed: message, function_call, function_call_output, reasoning`,
      );
    }
  });
  return { messages, paths };
}

/** Hosted tools gust cannot run are dropped with a warning; function tools become the core's tools, strict unless
 * they say `strict: false` (the Responses API's default). A `namespace` tool's function tools are taken in. */
export function convertTools(tools: unknown, warnings: string[]) {
  if (tools === undefined || tools === null) return null;
  const out: {
    type: "function";
    function: { name: string; description?: string; parameters?: Json; strict: boolean };
  }[] = [];
  const take = (raw: unknown, at: string) => {
    const t = object(raw, at);
    if (t.type === "function") {
      const parameters = t.parameters === undefined || t.parameters === null
        ? undefined
        : object(t.parameters, `${at}.parameters`);
      out.push({
        type: "function",
        function: {
          name: str(t.name, `${at}.name`),
          ...(typeof t.description === "string" ? { description: t.description } : {}),
          ...(parameters ? { parameters } : {}),
          strict: t.strict !== false,
        },
      });
    } else if (t.type === "namespace" && Array.isArray(t.tools)) {
      t.tools.forEach((inner, k) => take(inner, `${at}.tools[${k}]`));
    } else {
      warnings.push(`${at}: the ${JSON.stringify(t.type)} tool runs on OpenAI's servers, not here; it was left out`);
    }
  };
  list(tools, "tools").forEach((t, i) => take(t, `tools[${i}]`));
  return out;
}
