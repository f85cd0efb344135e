/**
 * Rows of numbers, all of one width, side by side in a typed array that grows as rows are
 * added: per-symbol values revised on every quote. An object's number field is a pointer to a
 * box of its own in V8, so revising one is a load through that pointer; a row is a few adjacent
 * cache lines holding the numbers themselves.
 */
export class Rows {
  /** Every row's numbers. Replaced when it grows: read it again after `add`. */
  data = new Float64Array(0);
  private used = 0;

  constructor(private readonly width: number) {}

  /** A new row, every number NaN; returns where it starts in `data`. */
  add(): number {
    if (this.used + this.width > this.data.length) {
      const grown = new Float64Array(Math.max(64 * this.width, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    const offset = this.used;
    this.data.fill(NaN, offset, offset + this.width);
    this.used += this.width;
    return offset;
  }
}
