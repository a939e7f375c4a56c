/** The image parts of a chat request, in prompt order, with the request path each one sits at. Shapes read
 * (the same ones runtime/text's input reader accepts):
 *   OpenAI   {"type": "image_url", "image_url": {"url": "data:image/png;base64,..." | "https://..."}}
 *   Mistral  {"type": "image_url", "image_url": "data:...|https://..."}  and  {"type": "image", "image": "<base64>"}
 *   Anthropic Messages  {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "..."}}
 *            or {"source": {"type": "url", "url": "..."}}, also inside a tool_result's content (the source string
 *            is the data URL the Messages adapter builds, functions/builtin/messages/blocks.ts)
 *   Responses `input` items: {"type": "input_image", "image_url": "..."} in a message's content or a
 *            function_call_output's output
 * Other chunk types, and messages whose content is a string, have no images. Shape errors of the rest of the
 * request are left to the chat encoder; a malformed image chunk is reported here, since we cannot skip it. */
import { VisionError } from "./errors.ts";

export interface ImagePart {
  /** The URL / data URL / base64 string exactly as it appears in the request. */
  source: string;
  /** e.g. `messages[2].content[1].image_url.url` */
  path: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function anthropicSource(c: Record<string, unknown>, at: string): ImagePart | null {
  const s = c.source;
  if (!isObj(s)) return null;
  if (s.type === "base64" && typeof s.media_type === "string" && typeof s.data === "string") {
    return { source: `data:${s.media_type};base64,${s.data}`, path: `${at}.source.data` };
  }
  if (s.type === "url" && typeof s.url === "string") return { source: s.url, path: `${at}.source.url` };
  return null; // the Messages adapter names the bad field
}

function inputImages(items: unknown[], out: ImagePart[]): void {
  items.forEach((item, i) => {
    if (!isObj(item)) return;
    const parts = Array.isArray(item.content) ? item.content : Array.isArray(item.output) ? item.output : [];
    const field = Array.isArray(item.content) ? "content" : "output";
    parts.forEach((p, j) => {
      if (isObj(p) && p.type === "input_image" && typeof p.image_url === "string") {
        out.push({ source: p.image_url, path: `input[${i}].${field}[${j}].image_url` });
      }
    });
  });
}

export function findImageParts(body: unknown): ImagePart[] {
  if (!isObj(body)) return [];
  const out: ImagePart[] = [];
  if (Array.isArray(body.input)) inputImages(body.input, out);
  if (!Array.isArray(body.messages)) return out;
  body.messages.forEach((m, i) => {
    if (!isObj(m) || !Array.isArray(m.content)) return;
    m.content.forEach((c, j) => {
      if (!isObj(c)) return;
      const at = `messages[${i}].content[${j}]`;
      if (c.type === "image" && "source" in c) {
        const part = anthropicSource(c, at);
        if (part) out.push(part);
      } else if (c.type === "tool_result" && Array.isArray(c.content)) {
        c.content.forEach((r, k) => {
          const part = isObj(r) && r.type === "image" ? anthropicSource(r, `${at}.content[${k}]`) : null;
          if (part) out.push(part);
        });
      } else if (c.type === "image_url") {
        const v = c.image_url;
        if (typeof v === "string") out.push({ source: v, path: `${at}.image_url` });
        else if (isObj(v) && typeof v.url === "string") out.push({ source: v.url, path: `${at}.image_url.url` });
        else {throw new VisionError(
            400,
            "image_source",
            'image_url must be a string or an object with a string url, e.g. {"url": "data:image/png;base64,..."}',
            `${at}.image_url`,
          );}
      } else if (c.type === "image") {
        if (typeof c.image !== "string") {
          throw new VisionError(400, "image_source", "image must be a base64 string or a URL string", `${at}.image`);
        }
        out.push({ source: c.image, path: `${at}.image` });
      }
    });
  });
  return out;
}
