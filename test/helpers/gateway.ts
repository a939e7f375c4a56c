// Building a gateway app around the fake runtime and a manual clock, and calling it like a client would.
import { createApp } from "../../edge/app.ts";
import type { GatewayApp } from "../../edge/app.ts";
import type { GatewayOptions } from "../../edge/options.ts";
import { FakeBinding } from "./fake-binding.ts";
import type { FakeOptions } from "./fake-binding.ts";
import { ManualClock } from "./manual-clock.ts";

export interface TestGateway {
  app: GatewayApp;
  fake: FakeBinding;
  clock: ManualClock;
  /** Set to false to simulate a disconnected runtime. */
  connected: { value: boolean };
  errors: unknown[];
  post(path: string, body: unknown, init?: RequestInit & { headers?: Record<string, string> }): Promise<Response>;
}

export function testGateway(opts: Partial<GatewayOptions> & { fake?: FakeOptions } = {}): TestGateway {
  const fake = new FakeBinding(opts.fake);
  const clock = new ManualClock();
  const connected = { value: true };
  const errors: unknown[] = [];
  const { fake: _f, ...rest } = opts;
  const app = createApp({
    binding: () => (connected.value ? fake : null),
    apiKeys: [],
    clock,
    logError: (e) => errors.push(e.error),
    ...rest,
  });
  const post = async (path: string, body: unknown, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    await app.request(path, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
      headers: { "content-type": "application/json", ...init.headers },
    });
  return { app, fake, clock, connected, errors, post };
}

export const user = (content: string) => ({ messages: [{ role: "user", content }] });
