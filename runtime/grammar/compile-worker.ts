// Worker thread entry of the grammar compiler (grammar-compiler.ts): compiles each job it is sent and answers with
// the job's id; the packed NFA's buffers are transferred (not copied) back. A refusal (SchemaError) goes back as
// its message; anything else as `failed`.
import { compileJob, type GrammarJob } from "./compile-job.ts";
import { packedBuffers } from "./nfa.ts";
import { type CompiledNfa, SchemaError } from "./schema-grammar.ts";

export interface JobMessage {
  id: number;
  job: GrammarJob;
}
export type ResultMessage =
  | { id: number; compiled: CompiledNfa }
  | { id: number; refused: string }
  | { id: number; failed: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<JobMessage>) => void) | null;
  postMessage(message: ResultMessage, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = (e) => {
  const { id, job } = e.data;
  try {
    const compiled = compileJob(job);
    scope.postMessage({ id, compiled }, packedBuffers(compiled.nfa));
  } catch (err) {
    if (err instanceof SchemaError) scope.postMessage({ id, refused: err.message });
    else scope.postMessage({ id, failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
