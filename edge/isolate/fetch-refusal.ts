// Inside an isolate: a fetch the sandbox refuses (a host the function did not declare, or loopback) fails with
// Deno's advice about its own command-line flags; say instead what the function's author can do about it.
declare const Deno: { errors: { NotCapable?: ErrorConstructor; PermissionDenied: ErrorConstructor } };

/** The message for a refused fetch to `host`, given the hosts the function declared. */
export function fetchRefusal(host: string, allowHosts: readonly string[]): string {
  const fix = "add the host to allowHosts in defineFunction({...}) (loopback is never reachable)";
  return allowHosts.length === 0
    ? `fetch to ${host} refused: this function has no network access; ${fix}`
    : `fetch to ${host} refused: this function may reach only its allowHosts (${allowHosts.join(", ")}); ${fix}`;
}

/** Wraps globalThis.fetch so that a refusal by the sandbox throws a TypeError with fetchRefusal's message. */
export function explainRefusedFetch(allowHosts: readonly string[]): void {
  const fetchFn = globalThis.fetch;
  const refused = (e: unknown) =>
    (Deno.errors.NotCapable !== undefined && e instanceof Deno.errors.NotCapable) ||
    e instanceof Deno.errors.PermissionDenied;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    try {
      return await fetchFn(input, init);
    } catch (err) {
      if (!refused(err)) throw err;
      const url = new URL(input instanceof Request ? input.url : String(input));
      throw new TypeError(fetchRefusal(url.host, allowHosts), { cause: err });
    }
  }) as typeof fetch;
}
