/**
 * A set of the most recently seen ids, bounded by count: seeing an id again makes it the
 * newest, so a story that keeps appearing on the page is never forgotten and announced again.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(
    private readonly capacity: number,
    initial: Iterable<string> = [],
  ) {
    for (const id of initial) this.add(id);
  }

  /** Records `id`; true when it was not held before. */
  add(id: string): boolean {
    const known = this.ids.delete(id);
    this.ids.add(id);
    // A Set iterates in insertion order, so the first id is the least recently seen.
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return !known;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** The ids held, least recently seen first. */
  values(): string[] {
    return [...this.ids];
  }
}

/** How many story ids the diff and the hub remember: far more than a page shows in a day. */
export const HEADLINE_ID_CAPACITY = 10_000;
