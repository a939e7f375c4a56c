/** Knowing when a response is really over. For a streamed body that is when the last chunk was read or the client
 * cancelled, long after the handler returned; concurrency slots, deadline timers and request metrics wait for it. */

/** `res` with `done` called exactly once: when its body ends, errors or is cancelled, or at once when it has none. */
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
