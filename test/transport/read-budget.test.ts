import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ReadBudget } from '../../src/transport/read-budget.ts';

class Reader {
  paused = false;
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
}

describe('ReadBudget', () => {
  it('holds a reader of an address in debt until the debt is paid back, and no other', () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 499);
    let holds = 0;
    const budget = new ReadBudget(1000, scheduler, () => holds++);
    const [a, b, c] = [new Reader(), new Reader(), new Reader()];

    // A burst of two seconds' worth is read at once.
    budget.charge('10.0.0.1', 2000, a);
    expect(a.paused).toBe(false);
    // 500 bytes past it: half a second of debt.
    budget.charge('10.0.0.1', 500, a);
    expect([a.paused, holds]).toEqual([true, 1]);
    // What the held reader had read already is charged, and does not hold it twice.
    budget.charge('10.0.0.1', 100, a);
    expect(holds).toBe(1);
    // Another connection of the address in debt is held on its next frame; another address is not.
    budget.charge('10.0.0.1', 10, b);
    budget.charge('10.0.0.2', 2000, c);
    expect([b.paused, c.paused, holds]).toEqual([true, false, 2]);

    scheduler.flush();
    expect(a.paused).toBe(true);
    // b's connection closes meanwhile: nothing resumes it.
    budget.release(b);
    scheduler.maxFrames = Infinity;
    scheduler.flush();
    expect([a.paused, b.paused]).toEqual([false, true]);
  });
});
