// The registry's VersionLoader for the gateway: each function version is loaded into an isolate of its own
// (isolate.ts) and served through it; the definition the registry keeps is a proxy whose fetch crosses into the
// isolate, so the slot (edge/functions-mount.ts) and dispatch work the same as for a function in this process.
import { checkLimits, DeployError, type VersionLoader } from "../functions/registry.ts";
import type { FunctionDefinition } from "../../functions/sdk/define-function.ts";
import { FunctionIsolate, type IsolateOptions } from "./isolate.ts";

const here = (path: string) => decodeURIComponent(new URL(path, import.meta.url).pathname);

/** The deno executable: this one on a Deno gateway, the repository's (npm `deno`) on Bun. */
export function denoExecutable(): string {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  return deno?.execPath() ?? here("../../node_modules/.bin/deno");
}

export type IsolateLoaderOptions = Omit<IsolateOptions, "denoBin" | "hostPath" | "loadTimeoutMs"> & {
  denoBin?: string;
};

export function isolateLoader(o: IsolateLoaderOptions): VersionLoader {
  return async (name, _version, file, timeoutMs) => {
    const isolate = new FunctionIsolate(name, file, {
      ...o,
      denoBin: o.denoBin ?? denoExecutable(),
      hostPath: here("./host.ts"),
      loadTimeoutMs: timeoutMs,
    });
    let declared;
    try {
      declared = await isolate.start();
    } catch (err) {
      isolate.stop();
      throw err;
    }
    const definition = {
      kind: "gust-function",
      name: typeof declared.name === "string" ? declared.name : name,
      limits: declared.limits as FunctionDefinition["limits"],
      reasoning: declared.reasoning as FunctionDefinition["reasoning"],
      app: { fetch: (req: Request, env: never) => isolate.fetch(req, env) },
    } as unknown as FunctionDefinition;
    try {
      checkLimits(definition, name);
    } catch (err) {
      isolate.stop();
      throw err instanceof DeployError ? err : new DeployError(String(err), 400);
    }
    return { definition, retire: () => isolate.retire(), stop: () => isolate.stop() };
  };
}
