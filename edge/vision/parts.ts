/** The image parts of a chat request, in prompt order, with the request path each one sits at. Shapes read
 * (the same ones runtime/text's input reader accepts):
 *   OpenAI   {"type": "image_url", "image_url": {"url": "data:image/png;base64,..." | "https://..."}}
 *   Mistral  {"type": "image_url", "image_url": "data:...|https://..."}  and  {"type": "image", "image": "<base64>"}
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

export function findImageParts(body: unknown): ImagePart[] {
  if (!isObj(body) || !Array.isArray(body.messages)) return [];
  const out: ImagePart[] = [];
  body.messages.forEach((m, i) => {
    if (!isObj(m) || !Array.isArray(m.content)) return;
    m.content.forEach((c, j) => {
      if (!isObj(c)) return;
      const at = `messages[${i}].content[${j}]`;
      if (c.type === "image_url") {
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
