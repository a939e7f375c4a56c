/** A function's response body cut when its time is up: a body that never ends would otherwise hold the function's
 * slot (and the client) for good. The stream errors with the signal's reason, so the client sees a truncated
 * response and the slot is released (whenBodyDone, edge/lifecycle.ts, sees the error). */
export function cutBodyAt(res: Response, signal: AbortSignal): Response {
  const body = res.body;
  if (body === null) return res;
  const reader = body.getReader();
  let onAbort: (() => void) | null = null;
  const stopWatching = () => {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    onAbort = null;
  };
  const cut = new ReadableStream<Uint8Array>({
    start(controller) {
      onAbort = () => {
        stopWatching();
        controller.error(signal.reason);
        reader.cancel(signal.reason).catch(() => {});
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    },
    async pull(controller) {
      try {
        const r = await reader.read();
        if (signal.aborted) return;
        if (r.done) {
          stopWatching();
          controller.close();
        } else controller.enqueue(r.value);
      } catch (e) {
        stopWatching();
        if (!signal.aborted) controller.error(e);
      }
    },
    cancel(reason) {
      stopWatching();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(cut, { status: res.status, statusText: res.statusText, headers: res.headers });
}
