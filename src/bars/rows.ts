/**
 * Rows of numbers, all of one width, side by side in a typed array that grows as rows are
 * added: per-symbol values revised on every quote, or a series' bars. An object's number field
 * is a pointer to a box of its own in V8, so revising one is a load through that pointer; a row
 * is a few adjacent cache lines holding the numbers themselves.
 */
export class Rows {
  /** Every row's numbers. Replaced when it grows: read it again after `add` or `insert`. */
  data: Float64Array;
  private used = 0;

  constructor(
    private readonly width: number,
    initialRows = 64,
  ) {
    this.data = new Float64Array(Math.max(1, initialRows) * width);
  }

  /** How many rows it holds. */
  get count(): number {
    return this.used / this.width;
  }

  /** A new last row, every number NaN; returns where it starts in `data`. */
  add(): number {
    return this.insert(this.count);
  }

  /** A new row at index `at` (the rows from it move one on), every number NaN; returns where it starts. */
  insert(at: number): number {
    if (this.used + this.width > this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const offset = at * this.width;
    this.data.copyWithin(offset + this.width, offset, this.used);
    this.data.fill(NaN, offset, offset + this.width);
    this.used += this.width;
    return offset;
  }

  /** Forgets every row; the space is used again. */
  clear(): void {
    this.used = 0;
  }
}
