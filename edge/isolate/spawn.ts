// A child process with pipes (node:child_process, which both gateway runtimes provide), its whole environment given.
import { spawn } from "node:child_process";

export interface Child {
  readonly pid: number;
  write(bytes: Uint8Array): void;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(): void;
}

export interface SpawnOptions {
  cmd: string;
  args: string[];
  /** The child's whole environment (nothing of the parent's is passed on). */
  env: Record<string, string>;
  onStdout(chunk: Uint8Array): void;
  onStderr(chunk: Uint8Array): void;
}

export function spawnChild(o: SpawnOptions): Child {
  const p = spawn(o.cmd, o.args, { env: o.env, stdio: ["pipe", "pipe", "pipe"] });
  p.stdin.on("error", () => {}); // a dead child: its exit is reported below
  p.stdout.on("data", o.onStdout);
  p.stderr.on("data", o.onStderr);
  const exited = new Promise<number | null>((resolve) => {
    // "close", not "exit": by then stderr is read to the end (an out-of-memory message comes last)
    p.once("close", (code) => resolve(code));
    p.once("error", () => resolve(null));
  });
  return {
    pid: p.pid ?? -1,
    write: (bytes) => void p.stdin.write(bytes),
    exited,
    kill: () => void p.kill("SIGKILL"),
  };
}
