// Message content: a string, or chunks (text, thinking, images) checked against what each role may carry; images are
// sized here because their token count depends on their size.
import { ChatRequestError } from "../errors.ts";
import { decodeImageSource, sniffImageSize } from "./image-size.ts";
import type { Size } from "./image-size.ts";
import type { InputOptions } from "./input.ts";
import type { Chunk, Content, ImageRef } from "./types.ts";
import { isObj } from "./is-obj.ts";

const CHUNKS_FOR: Record<string, string[]> = {
  system: ["text"],
  user: ["text", "image_url", "image"],
  assistant: ["text", "thinking"],
  tool: ["text", "image_url", "image"],
};

function defaultResolve(source: string, path: string): Size {
  const bytes = decodeImageSource(source);
  if (!bytes) {
    throw new ChatRequestError(
      path,
      "image-source",
      "cannot read this image here: only data: URLs and base64 are sized locally",
      "a data:image/...;base64 URL, base64 image bytes, or an image resolver supplied by the caller",
    );
  }
  const size = sniffImageSize(bytes);
  if (!size || size.width <= 0 || size.height <= 0) {
    throw new ChatRequestError(
      path,
      "image-format",
      "the image bytes are not a PNG, JPEG, GIF, WebP or BMP file with a positive size",
      "PNG, JPEG, GIF, WebP, BMP",
    );
  }
  return size;
}

function readChunks(raw: unknown[], role: string, path: string, opts: InputOptions): Chunk[] {
  const allowed = CHUNKS_FOR[role];
  return raw.map((c, j): Chunk => {
    const p = `${path}[${j}]`;
    if (!isObj(c) || typeof c.type !== "string") {
      throw new ChatRequestError(
        p,
        "content-type",
        "a content chunk must be an object with a string `type`",
        allowed.join(", "),
      );
    }
    const type = c.type === "image_size" ? "image_url" : c.type;
    if (!allowed.includes(type)) {
      throw new ChatRequestError(
        `${p}.type`,
        "content-type",
        `chunk type ${JSON.stringify(c.type)} is not allowed in a ${role} message`,
        allowed.join(", "),
      );
    }
    if (c.type === "text") {
      if (typeof c.text !== "string") {
        throw new ChatRequestError(`${p}.text`, "content-type", "text must be a string", "a string");
      }
      return { type: "text", text: c.text };
    }
    if (c.type === "thinking") {
      let t = c.thinking;
      if (Array.isArray(t)) {
        t = t.map((x, k) => {
          if (!isObj(x) || x.type !== "text" || typeof x.text !== "string") {
            throw new ChatRequestError(
              `${p}.thinking[${k}]`,
              "content-type",
              "thinking parts must be text chunks",
              '{"type": "text", "text": "..."}',
            );
          }
          return x.text;
        }).join("");
      }
      if (typeof t !== "string") {
        throw new ChatRequestError(
          `${p}.thinking`,
          "content-type",
          "thinking must be a string or a list of text chunks",
          "a string",
        );
      }
      if (c.closed !== undefined && typeof c.closed !== "boolean") {
        throw new ChatRequestError(`${p}.closed`, "content-type", "closed must be a boolean", "true, false");
      }
      return { type: "thinking", thinking: t, closed: c.closed ?? true };
    }
    let image: ImageRef;
    if (c.type === "image_size") {
      if (!(Number.isInteger(c.width) && Number.isInteger(c.height) && c.width > 0 && c.height > 0)) {
        throw new ChatRequestError(p, "image-size", "width and height must be positive integers", "positive integers");
      }
      image = { source: null, width: c.width, height: c.height };
    } else {
      const src = c.type === "image" ? c.image : typeof c.image_url === "string" ? c.image_url : c.image_url?.url;
      if (typeof src !== "string") {
        throw new ChatRequestError(
          p,
          "content-type",
          c.type === "image"
            ? "image must be a base64 string"
            : "image_url must be a string or an object with a string url",
          '{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}',
        );
      }
      const size = (opts.resolveImage ?? defaultResolve)(src, p);
      image = { source: src, width: size.width, height: size.height };
    }
    return { type: "image", image };
  });
}

export function readContent(raw: unknown, role: string, path: string, opts: InputOptions): Content | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === "string") return raw;
  if (Array.isArray(raw)) return readChunks(raw, role, path, opts);
  throw new ChatRequestError(
    path,
    "content-type",
    `content must be a string or a list of chunks, got ${raw === null ? "null" : typeof raw}`,
    `a string or a list of ${CHUNKS_FOR[role].join("/")} chunks`,
  );
}
