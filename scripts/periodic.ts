/**
 * Runs tasks on intervals for a long run (soak, chaos): a task that throws is reported on
 * stderr and runs again at its next turn; `stop()` clears every interval.
 */
export const periodic = (name: string) => {
  const timers: ReturnType<typeof setInterval>[] = [];
  return {
    every(ms: number, task: () => Promise<void> | void): void {
      timers.push(
        setInterval(() => {
          Promise.resolve()
            .then(task)
            .catch((err: unknown) => process.stderr.write(`${name} task failed: ${String(err)}\n`));
        }, ms),
      );
    },
    stop(): void {
      for (const t of timers) clearInterval(t);
    },
  };
};
