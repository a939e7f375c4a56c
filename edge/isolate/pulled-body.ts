// A function's response as the gateway hands it on: the head came from the isolate, the body is pulled from it one
// chunk per read (protocol.ts `pull`), so a body that never ends cannot fill the gateway's memory.
import { fromBase64, type FromIsolate } from "./protocol.ts";

/** The request's side of the pull: `chunk` is set while a pull waits for the isolate's answer. */
export interface BodySource {
  chunk: ((f: FromIsolate | null) => void) | null;
  /** Set when the isolate died under the request. */
  dead?: string;
}

export interface BodyFlow {
  /** Asks the isolate for the next chunk. */
  pull(): void;
  /** The body ended (whole, or with an error). */
  ended(): void;
  /** The reader is gone before the end (or there is no body to read): the isolate is told to stop. */
  cancel(): void;
}

export function pulledResponse(src: BodySource, status: number, headers: [string, string][], flow: BodyFlow): Response {
  const body = status === 204 || status === 304 ? null : new ReadableStream<Uint8Array>({
    pull: (controller) =>
      new Promise<void>((resolve) => {
        if (src.dead !== undefined) {
          controller.error(new Error(src.dead));
          return resolve();
        }
        src.chunk = (f) => {
          src.chunk = null;
          if (f?.t === "res-chunk") controller.enqueue(fromBase64(f.data));
          else {
            flow.ended();
            if (f?.t === "res-end") controller.close();
            else controller.error(new Error(f?.t === "res-error" ? f.message : "the isolate went away"));
          }
          resolve();
        };
        flow.pull();
      }),
    cancel: () => flow.cancel(),
  }, { highWaterMark: 0 });
  if (body === null) flow.cancel();
  return new Response(body, { status, headers });
}
