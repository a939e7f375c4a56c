// What Linux says of a process (/proc), for the isolate's limits; null where it cannot be read (another OS, gone).
import { readFileSync } from "node:fs";

/** CPU time (user + system) a process has used, in ms (at 100 ticks per second), or null. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the
    // 14th field of the line, stime the 15th, i.e. the 12th and 13th after ")"
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(after[11]) + Number(after[12])) * 10;
  } catch {
    return null;
  }
}

/** Resident bytes of a process, or null. */
export function residentBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
