/** Errors for bad chat requests: each names where (message index / field), which rule, and what is allowed. */

export class ChatRequestError extends Error {
  override name = "ChatRequestError";
  constructor(
    /** JSON-path-like location: "messages[3].tool_call_id", "tools[0].function.name", "reasoning_effort". */
    readonly path: string,
    /** Short rule id, stable for tests and API error codes: "role-order", "tool-call-id", ... */
    readonly rule: string,
    /** What is wrong, in words. */
    readonly detail: string,
    /** What would be accepted instead. */
    readonly allowed?: string,
  ) {
    super(`${path}: ${detail} [rule ${rule}]${allowed ? `; allowed: ${allowed}` : ""}`);
  }

  /** The message index the error is about, or undefined if it is not about one message. */
  get index(): number | undefined {
    const m = /^messages\[(\d+)\]/.exec(this.path);
    return m ? Number(m[1]) : undefined;
  }
}

/** A command called the wrong way (missing or malformed flags): printed without a stack trace, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
