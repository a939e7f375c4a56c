/** Worker thread entry of the render pool (render-pool.ts): renders each job it is sent (render.ts) and answers
 * with the job's id, the result's pixels transferred (not copied) back. A refusal (VisionError) goes back as its
 * status, code and message; anything else as a message only, which the pool turns into a 500. */
import { VisionError } from "./errors.ts";
import { renderPixels, type RenderJob } from "./render.ts";

export interface JobMessage { id: number; job: RenderJob }
export type ResultMessage =
  | { id: number; hash: string; rgb: Uint8Array }
  | { id: number; refused: { status: VisionError["status"]; code: VisionError["code"]; message: string } }
  | { id: number; failed: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<JobMessage>) => void) | null;
  postMessage(message: ResultMessage, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async (e) => {
  const { id, job } = e.data;
  try {
    const { hash, rgb } = await renderPixels(job);
    scope.postMessage({ id, hash, rgb }, [rgb.buffer as ArrayBuffer]);
  } catch (err) {
    if (err instanceof VisionError) scope.postMessage({ id, refused: { status: err.status, code: err.code, message: err.message } });
    else scope.postMessage({ id, failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
