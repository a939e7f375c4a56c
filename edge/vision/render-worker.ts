/** Worker thread entry of the render pool (render-pool.ts): probes or renders each job it is sent (render.ts) and
 * answers with the job's id; a render's pixels are transferred (not copied) back. A refusal (VisionError) goes back
 * as its status, code and message; anything else as a message only, which the pool turns into a 500. */
import { VisionError } from "./errors.ts";
import { probeEncoded, type ProbeJob, type ProbeResult, type RenderJob, renderPixels } from "./render.ts";

export type JobMessage = { id: number; render: RenderJob } | { id: number; probe: ProbeJob };
export type ResultMessage =
  | { id: number; hash: string; rgb: Uint8Array }
  | { id: number; probed: ProbeResult }
  | { id: number; refused: { status: VisionError["status"]; code: VisionError["code"]; message: string } }
  | { id: number; failed: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<JobMessage>) => void) | null;
  postMessage(message: ResultMessage, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (e) => {
  const m = e.data;
  const id = m.id;
  try {
    if ("probe" in m) {
      scope.postMessage({ id, probed: await probeEncoded(m.probe) });
      return;
    }
    const { hash, rgb } = await renderPixels(m.render);
    scope.postMessage({ id, hash, rgb }, [rgb.buffer as ArrayBuffer]);
  } catch (err) {
    if (err instanceof VisionError) {
      scope.postMessage({ id, refused: { status: err.status, code: err.code, message: err.message } });
    } else scope.postMessage({ id, failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
