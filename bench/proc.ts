import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux everywhere). */
const USER_HZ = 100;

/** CPU seconds (user + system) a process has used, from /proc; NaN once it is gone. */
export const cpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return NaN;
  }
};

/** Resident set size in bytes, from /proc; NaN once the process is gone. */
export const rssBytes = (pid: number): number => {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
};

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait). */
export const machineBusySeconds = (): number => {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / USER_HZ;
};

/**
 * How many CPUs a taskset list names (`0`, `1-3`, `0,2-3`); undefined for none given (unpinned).
 */
export const cpuListSize = (list: string | undefined): number | undefined =>
  list === undefined
    ? undefined
    : list.split(',').reduce((sum, part) => {
        const [from, to = from] = part.split('-').map(Number);
        return sum + (to! - from! + 1);
      }, 0);
