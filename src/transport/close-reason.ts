/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the close code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A close reason cut to fit a close frame, by UTF-8 bytes and never inside a character: `ws`
 * throws on a longer one, and reasons echo what a client sent (its origin, say).
 */
export const closeReason = (text: string, maxBytes = MAX_CLOSE_REASON_BYTES): string => {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const ellipsis = '…';
  const room = maxBytes - Buffer.byteLength(ellipsis);
  let bytes = 0;
  let end = 0;
  // Walk by code point so a surrogate pair is kept or dropped whole.
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > room) break;
    bytes += size;
    end += ch.length;
  }
  return `${text.slice(0, end)}${ellipsis}`;
};
