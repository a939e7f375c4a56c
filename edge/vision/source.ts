/** Where an image part's bytes come from: a `data:` URL, an http(s) URL, or bare base64 (Mistral's
 * `{"type": "image", "image": "<base64>"}` and base64 in `image_url`). Base64 is size-checked before decoding.
 *
 * MIME policy: a data URL must declare an `image/...` type (mistral-common itself only accepts URLs starting
 * with `data:image`); text/html, application/*, an empty type and the like are refused. Within image/*, the
 * bytes decide the format: `data:image/png` carrying JPEG bytes is decoded as the JPEG it is, which is what
 * PIL (and so mistral-common) does. Whatever the label, only PNG, JPEG, GIF and WebP bytes are decoded. */
import { num, VisionError } from "./errors.ts";

export type ImageSource =
  | { kind: "bytes"; bytes: Uint8Array; declaredMime: string | null }
  | { kind: "url"; url: URL };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decoded length of base64 text without decoding it: 4 characters carry 3 bytes, minus the padding. */
export function base64Length(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}

function decodeBase64(b64: string, maxBytes: number, what: string): Uint8Array {
  const clean = /\s/.test(b64) ? b64.replace(/\s+/g, "") : b64;
  if (!BASE64.test(clean) || clean.length % 4 === 1) {
    throw new VisionError(400, "image_source", `${what} is not valid base64 (allowed: A-Z a-z 0-9 + / with = padding)`);
  }
  const size = base64Length(clean);
  if (size > maxBytes) {
    throw new VisionError(
      413,
      "image_too_many_bytes",
      `image is ${num(size)} bytes; the limit is ${num(maxBytes)} bytes per image`,
    );
  }
  if (size === 0) throw new VisionError(400, "image_source", `${what} is empty`);
  // Uint8Array.fromBase64 (Bun, Deno): stricter than Buffer about padding: "AB=" (one '=' where two are due) is refused, not read as one byte.
  try {
    return (Uint8Array as unknown as { fromBase64(text: string): Uint8Array }).fromBase64(clean);
  } catch {
    throw new VisionError(
      400,
      "image_source",
      `${what} is not valid base64 (its '=' padding does not complete the last 4-character group)`,
    );
  }
}

/** Classify and, for inline images, decode. Throws VisionError (no path; the caller adds it). */
export function readSource(src: string, maxBytes: number): ImageSource {
  if (src.startsWith("data:")) {
    const comma = src.indexOf(",");
    if (comma < 0) {
      throw new VisionError(
        400,
        "image_source",
        "data URL has no comma before its payload (expected data:image/png;base64,...)",
      );
    }
    const meta = src.slice(5, comma).split(";").map((s) => s.trim().toLowerCase());
    const mime = meta[0];
    if (!mime.startsWith("image/")) {
      throw new VisionError(
        400,
        "image_mime",
        `data URL type ${
          JSON.stringify(mime || "(none)")
        } is not an image type; allowed: image/png, image/jpeg, image/gif, image/webp`,
      );
    }
    if (!meta.includes("base64")) {
      throw new VisionError(
        400,
        "image_source",
        "data URL is not base64-encoded; allowed: data:image/<type>;base64,<payload>",
      );
    }
    return {
      kind: "bytes",
      bytes: decodeBase64(src.slice(comma + 1), maxBytes, "data URL payload"),
      declaredMime: mime,
    };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(src)?.[1]?.toLowerCase();
  if (scheme === "http" || scheme === "https") {
    let url: URL;
    try {
      url = new URL(src);
    } catch {
      throw new VisionError(400, "image_source", "image URL is not a valid URL");
    }
    return { kind: "url", url };
  }
  // Bare base64 has no scheme; its alphabet has no ':' so any "word:" prefix is a scheme we do not fetch.
  if (scheme !== undefined) {
    throw new VisionError(
      400,
      "image_source",
      `image URL scheme ${
        JSON.stringify(scheme + ":")
      } is not supported; allowed: data:image/...;base64, http:, https: (if enabled), or bare base64`,
    );
  }
  return { kind: "bytes", bytes: decodeBase64(src, maxBytes, "image"), declaredMime: null };
}
