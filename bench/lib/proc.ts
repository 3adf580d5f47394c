import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time of a process in clock ticks, from /proc/PID/stat. */
export interface CpuTicks {
  utime: number;
  stime: number;
}

/**
 * Parses /proc/PID/stat. The command name (field 2) is in parentheses and may itself hold spaces
 * or parentheses, so fields are counted from the last ')'. utime and stime are fields 14 and 15.
 */
export function parseProcStat(text: string): CpuTicks {
  const close = text.lastIndexOf(')');
  if (close === -1) throw new Error('malformed /proc/PID/stat: no command name');
  // After ')' comes field 3 (state); utime is field 14, i.e. index 11 of the rest.
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime))
    throw new Error('malformed /proc/PID/stat: utime/stime are not integers');
  return { utime, stime };
}

export function readCpuTicks(pid: number): CpuTicks {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`), 100 on Linux when getconf is missing. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** CPU microseconds between two readings. */
export function cpuMicros(before: CpuTicks, after: CpuTicks, hz = clockTicks()): number {
  const ticks = after.utime + after.stime - (before.utime + before.stime);
  return (ticks / hz) * 1e6;
}

export interface Memory {
  /** Resident set size now, in bytes. */
  rss: number;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peak: number;
}

/** Parses VmRSS and VmHWM (kB) from /proc/PID/status. */
export function parseProcStatus(text: string): Memory {
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/PID/status has no ${name}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

export function readMemory(pid: number): Memory {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}
