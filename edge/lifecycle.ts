/** Knowing when a response is really over. For a streamed body that is when the last chunk was read or the client
 * cancelled, long after the handler returned; concurrency slots, deadline timers and request metrics wait for it. */

/** Bodies that tell when their reader has taken the last chunk (the SSE stream, edge/sse.ts); the others are
 * wrapped in a stream that watches the reads, which costs a stream, a reader, a Response and a promise per chunk. */
const selfReporting = new WeakMap<ReadableStream, (listener: () => void) => void>();

/** Registers `stream` as one that calls each listener once when its body is over (read to the end or cancelled). */
export function reportsBodyEnd(stream: ReadableStream, addListener: (listener: () => void) => void): void {
  selfReporting.set(stream, addListener);
}

/** `res` with `done` called exactly once: when its body ends, errors or is cancelled, or at once when it has none.
 * The same `res` comes back when its body reports its own end (or it has none); otherwise a wrapping Response. */
export function whenBodyDone(res: Response, done: () => void): Response {
  const body = res.body;
  if (body === null) {
    done();
    return res;
  }
  let called = false;
  const finish = () => {
    if (!called) {
      called = true;
      done();
    }
  };
  const addListener = selfReporting.get(body);
  if (addListener) {
    addListener(finish);
    return res;
  }
  const reader = body.getReader();
  const wrapped = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await reader.read();
        if (r.done) {
          finish();
          controller.close();
        } else controller.enqueue(r.value);
      } catch (e) {
        finish();
        controller.error(e);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(wrapped, { status: res.status, statusText: res.statusText, headers: res.headers });
}
