// One grammar compilation, as plain data so that it can run on the engine's thread or in the grammar worker
// (compile-worker.ts) alike: a JSON Schema (sent as its JSON text, which is also its cache key) or the names a
// tool call may write.
import { DEFAULT_NFA_BUDGET, GrammarLimitError, Nfa } from "./nfa.ts";
import { type CompiledNfa, compileSchemaNfa, SchemaError } from "./schema-grammar.ts";

export type GrammarJob = { kind: "schema"; schemaText: string } | { kind: "names"; names: string[] };

/** The cache key of a job: equal jobs compile to the same grammar. */
export const jobKey = (job: GrammarJob): string =>
  job.kind === "schema" ? `schema:${job.schemaText}` : `names:${JSON.stringify(job.names)}`;

/** Builds the job's NFA within the default budget; a job over it (or a schema gust cannot hold to) is a
 * SchemaError. */
export function compileJob(job: GrammarJob): CompiledNfa {
  if (job.kind === "schema") return compileSchemaNfa(JSON.parse(job.schemaText));
  const nfa = new Nfa(DEFAULT_NFA_BUDGET);
  const enc = new TextEncoder();
  try {
    const start = nfa.either(...job.names.map((n) => nfa.literal(enc.encode(n), nfa.accept)));
    return { nfa: nfa.pack(), start };
  } catch (e) {
    if (e instanceof GrammarLimitError) throw new SchemaError(`tool set too complex: ${e.message}; offer fewer tools`);
    throw e;
  }
}
