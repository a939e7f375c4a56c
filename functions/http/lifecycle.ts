/** Knowing when a response is really over. For a streamed body that is when the last chunk was read or the client
 * cancelled, long after the handler returned; concurrency slots, deadline timers and request metrics wait for it.
 *
 * Nothing per request may hang off a body stream after the body is over: on Deno the stream itself stays reachable
 * for a while after the response is sent (something in Deno's HTTP layer; which is not known), long enough to outlive
 * two young collections, so whatever it still points to is promoted to the old generation and only a full
 * collection frees it (docs/notes/2026-11-23-gateway-gc.md).
 * Measured on the Deno gateway, 800 streaming 1-token requests: a listener left registered against each SSE stream
 * promoted 10.4 KiB per request (13% of the young generation survived each scavenge); cut off, 2.4 KiB (4%). */

/** Bodies that tell when their reader has taken the last chunk (the SSE stream, sse.ts); the others are
 * wrapped in a stream that watches the reads, which costs a stream, a reader, a Response and a promise per chunk.
 * An entry is taken out when it is used, so the map never ties a finished stream to its request. */
const selfReporting = new WeakMap<ReadableStream, (listener: () => void) => void>();

/** Registers `stream` as one that calls each listener once when its body is over (read to the end or cancelled). */
export function reportsBodyEnd(stream: ReadableStream, addListener: (listener: () => void) => void): void {
  selfReporting.set(stream, addListener);
}

const IN_MEMORY = Symbol("gust.bodyInMemory");
type Marked = Response & { [IN_MEMORY]?: true };

/** Marks `res` as a whole answer already in memory (a JSON body, an error, a metrics page): its request is over when
 * the handler is, so whenBodyDone neither waits for the client to read it nor wraps its body in a watching stream.
 * (Wrapped, a 200-byte metrics scrape allocated 47 KiB on the Deno gateway and promoted 4.7 KiB; marked, 29 and 0.3.)
 * Only for bodies made from a string or bytes: a stream marked here would release its slot before it is sent. */
export function bodyInMemory<R extends Response>(res: R): R {
  (res as Marked)[IN_MEMORY] = true;
  return res;
}

/** `res` with `done` called exactly once: when its body ends, errors or is cancelled, or at once when it has none or
 * is marked bodyInMemory.
 * The same `res` comes back when its body reports its own end (or it has none); otherwise a wrapping Response. */
export function whenBodyDone(res: Response, done: () => void): Response {
  if ((res as Marked)[IN_MEMORY]) {
    done();
    return res;
  }
  const body = res.body; // (for most bodies this getter creates the stream: only past the checks above)
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
    selfReporting.delete(body);
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
