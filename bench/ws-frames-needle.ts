/**
 * Finding a fixed byte string in received frame payloads, for the load generator's counting.
 * `Buffer.indexOf` with a multi-byte needle costs ~130 ns a call on a 2–3 KB frame (it sets up a
 * string search each time), and the load generator makes one call per delivery, a million a
 * second. Searching for one rare byte of the needle (`indexOf` of a number is a `memchr`) and
 * comparing the bytes around it finds the same occurrences at about a third of the cost.
 */
export class Needle {
  private readonly anchorByte: number;

  /** `anchor`: the index in `bytes` of a byte that is rare in the text searched. */
  constructor(
    readonly bytes: Buffer,
    private readonly anchor: number,
  ) {
    if (anchor < 0 || anchor >= bytes.length) throw new RangeError(`anchor ${anchor} outside the needle`);
    this.anchorByte = bytes[anchor]!;
  }

  /** The first occurrence starting at or after `from`, or -1: what `data.indexOf(bytes, from)` gives. */
  indexIn(data: Buffer, from = 0): number {
    const bytes = this.bytes;
    const length = bytes.length;
    const anchor = this.anchor;
    const last = data.length - length + anchor;
    for (let i = data.indexOf(this.anchorByte, Math.max(0, from) + anchor); i !== -1 && i <= last;) {
      const start = i - anchor;
      let j = 0;
      while (j < length && data[start + j] === bytes[j]) j++;
      if (j === length) return start;
      i = data.indexOf(this.anchorByte, i + 1);
    }
    return -1;
  }

  /** Non-overlapping occurrences in `data`, counted left to right. */
  count(data: Buffer): number {
    let n = 0;
    const length = this.bytes.length;
    for (let i = this.indexIn(data); i !== -1; i = this.indexIn(data, i + length)) n++;
    return n;
  }
}
