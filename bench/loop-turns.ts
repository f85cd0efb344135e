import { performance } from 'node:perf_hooks';

/**
 * Runs `work` with a `setImmediate` ticker beside it: its wall time, and the longest turn of
 * this process's event loop meanwhile (what a client of the process would have waited).
 */
export const withTicker = async (work: () => Promise<void>): Promise<{ ms: number; longest: number }> => {
  let longest = 0;
  let last = performance.now();
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  await new Promise((resolve) => setImmediate(resolve));
  ticking = false;
  return { ms, longest };
};
