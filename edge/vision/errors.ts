/** The one error type of the vision library: an HTTP status and an OpenAI-style error body. Messages say what
 * happened and what is allowed; they never carry a stack, a file path or an internal address. */

export type VisionErrorCode =
  | "invalid_json"
  | "too_many_images"
  | "image_source"
  | "image_mime"
  | "image_format"
  | "image_decode"
  | "image_size"
  | "image_too_many_bytes"
  | "image_too_many_pixels"
  | "image_too_many_tokens"
  | "image_url_disabled"
  | "image_url_refused"
  | "image_url_fetch"
  | "internal_error";

export class VisionError extends Error {
  constructor(
    /** 400 bad input, 403 refused URL, 413 over a cap, 500 our fault. */
    readonly status: 400 | 403 | 413 | 500,
    readonly code: VisionErrorCode,
    message: string,
    /** Where in the request, e.g. `messages[1].content[0].image_url`; null for the request as a whole. */
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = "VisionError";
  }

  /** The same error at a request path (errors raised deep in the pipeline learn their path here). */
  at(param: string): VisionError {
    return this.param === null ? new VisionError(this.status, this.code, this.message, param) : this;
  }

  toJSON(): { error: { message: string; type: string; code: VisionErrorCode; param: string | null } } {
    const type = this.status === 500
      ? "server_error"
      : this.status === 403
      ? "permission_error"
      : "invalid_request_error";
    return { error: { message: this.message, type, code: this.code, param: this.param } };
  }
}

/** Anything thrown inside the pipeline as a VisionError: ours pass through, the rest become a 500 without details
 * (the cause may name files or addresses; the caller may log `cause`). */
export function asVisionError(e: unknown): VisionError {
  if (e instanceof VisionError) return e;
  const err = new VisionError(
    500,
    "internal_error",
    "internal error while preparing images; the request was not processed",
  );
  (err as { cause?: unknown }).cause = e;
  return err;
}

/** `12,345,678` — caps and sizes in messages are easier to read with separators. */
export function num(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
