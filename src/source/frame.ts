/** One page capture: the unit every source yields and the parser reads. */
export interface Frame {
  text: string;
  /** When the page was captured, where the feed records it. */
  capturedAt?: Date;
  /** Where it came from (file and line, URL, `stdin`), for log lines. */
  origin: string;
}
