// The isolate's one capability: its model calls (protocol.ts `model-call`), answered in the gateway with the
// request's real binding. Each call can be aborted by the isolate (`model-abort`) or with its request.
import type { FunctionModel } from "../../functions/sdk/types.ts";
import { HttpError } from "../../functions/http/errors.ts";
import type { ModelOp, ToIsolate } from "./protocol.ts";

/** What a model call needs of the request it belongs to (null: it names no request in flight). */
export interface CallOwner {
  model: FunctionModel;
  calls: Set<AbortController>;
}

export class ModelCalls {
  readonly #calls = new Map<number, AbortController>();

  constructor(private readonly send: (frame: ToIsolate) => void) {}

  abort(call: number): void {
    this.#calls.get(call)?.abort();
  }

  async answer(owner: CallOwner | undefined, call: number, op: ModelOp, input: unknown): Promise<void> {
    const ac = new AbortController();
    this.#calls.set(call, ac);
    owner?.calls.add(ac);
    try {
      if (!owner) throw new HttpError(400, "no_request", "model call outside a request");
      if (op === "chat") {
        this.send({ t: "model-result", call, value: await owner.model.chat(input as never, ac.signal) });
      } else if (op === "tokenize") {
        this.send({ t: "model-result", call, value: await owner.model.tokenize(input as never) });
      } else if (op === "prepareImages") {
        const { body, options } = input as { body: unknown; options?: never };
        this.send({ t: "model-result", call, value: await owner.model.prepareImages(body, options) });
      } else {
        for await (const event of owner.model.stream(input as never, ac.signal)) {
          this.send({ t: "model-event", call, event });
        }
        this.send({ t: "model-end", call });
      }
    } catch (err) {
      const e = err as { message?: string; status?: number; code?: string };
      this.send({
        t: "model-error",
        call,
        error: { message: e.message ?? String(err), status: e.status, code: e.code },
      });
    } finally {
      this.#calls.delete(call);
      owner?.calls.delete(ac);
    }
  }
}
