// The gateway's event-loop stall monitor: a mark followed by synchronous work observes that work as lag once the
// loop turn ends; marks within one turn make one observation; no marks, no observations (it keeps no timer); stop()
// ends the sampling. The first tests drive it with a hand-run scheduler and clock, the last with the real setImmediate.
import { describe, expect, it } from "vitest";
import { systemClock } from "../../functions/http/clock.ts";
import { LoopLagMonitor } from "../../edge/metrics/loop-lag.ts";
import { testGateway } from "../helpers/gateway.ts";
import { ManualClock, settle } from "../helpers/manual-clock.ts";

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a handler doing synchronous work
  }
}

/** A clock the test moves, and a scheduler whose callbacks run when the test says the turn is over. */
function manual() {
  const clock = new ManualClock();
  const queued: Array<() => void> = [];
  return {
    clock,
    queued,
    advance: (ms: number) => clock.advance(ms),
    endTurn: () => queued.splice(0).forEach((fn) => fn()),
    schedule: (fn: () => void) => queued.push(fn),
  };
}

describe("LoopLagMonitor", () => {
  it("observes the time from the first mark of a turn to the turn's end, once per turn", async () => {
    const m = manual();
    const seen: number[] = [];
    const monitor = new LoopLagMonitor({ observe: (s) => seen.push(s) }, m.clock, m.schedule);
    monitor.mark(); // t=0 of this test
    await m.advance(2);
    monitor.mark(); // same turn: nothing new scheduled
    await m.advance(4);
    expect(m.queued.length).toBe(1);
    m.endTurn(); // t=6
    expect(seen).toEqual([0.006]);
    expect(monitor.maxMs).toBe(6);
    monitor.mark(); // a new turn
    await m.advance(1);
    m.endTurn();
    expect(seen).toEqual([0.006, 0.001]);
    expect(monitor.maxMs).toBe(6);
  });

  it("schedules nothing and observes nothing without marks, or after stop()", async () => {
    const m = manual();
    const seen: number[] = [];
    const monitor = new LoopLagMonitor({ observe: (s) => seen.push(s) }, m.clock, m.schedule);
    await m.advance(100);
    m.endTurn();
    expect(m.queued.length).toBe(0);
    monitor.mark();
    monitor.stop();
    await m.advance(3);
    m.endTurn(); // the mark scheduled before stop() is dropped
    monitor.mark();
    expect(m.queued.length).toBe(0);
    expect(seen).toEqual([]);
  });

  it("with the real setImmediate, sees a synchronous block that follows a mark", async () => {
    const seen: number[] = [];
    const monitor = new LoopLagMonitor({ observe: (s) => seen.push(s) }, systemClock);
    monitor.mark();
    blockFor(40);
    await new Promise((r) => setTimeout(r, 5));
    expect(seen.length).toBe(1);
    expect(monitor.maxMs).toBeGreaterThanOrEqual(40);
  });

  it("is marked by each request the app handles and reported in /metrics", async () => {
    const { app } = testGateway();
    // each request in a loop turn of its own (requests handled within one turn make one observation)
    for (let i = 0; i < 3; i++) {
      await app.request("/health");
      await settle(1);
    }
    const text = await (await app.request("/metrics")).text();
    const count = Number(/^gust_event_loop_lag_seconds_count (\S+)$/m.exec(text)?.[1]);
    expect(count).toBeGreaterThanOrEqual(3);
  });
});
