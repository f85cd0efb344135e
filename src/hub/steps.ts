/**
 * Work cut into steps: a generator that yields between them, so that a process serving clients
 * meanwhile can let their I/O in between (days of bars are seconds of the loop), while one that
 * serves no one yet runs it at once.
 */

/** Runs `steps` to their end at once. */
export const runAtOnce = <T>(steps: Generator<unknown, T>): T => {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
};

/** Runs `steps` to their end, a step a turn of the loop, so I/O is served between steps. */
export const runBetweenTurns = async <T>(steps: Generator<void, T>): Promise<T> => {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
};
