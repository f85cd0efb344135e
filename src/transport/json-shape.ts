/**
 * How deep a client frame's JSON may nest. A request nests at most two deep (`since` in a
 * subscribe); the rest is room for what a later version of the protocol adds. `JSON.parse`
 * takes time that grows faster than the text with nesting, so one frame of the size limit
 * nested 30,000 deep holds the loop for milliseconds: such a frame is refused unparsed.
 */
export const MAX_REQUEST_DEPTH = 8;

/**
 * How many members one object of a client frame may hold: a request has at most eight fields.
 * `JSON.parse` of an object of thousands of members takes milliseconds (each new key changes its
 * shape), where an array of as many strings takes a tenth of that: arrays are bounded by the size
 * limit alone, so that a request naming too many symbols is still told `too_many_symbols`.
 */
export const MAX_REQUEST_MEMBERS = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/**
 * Why a frame (its UTF-8 bytes) is too costly to parse as a request, or undefined when it is
 * within the limits. One pass over the bytes, before the text is even decoded, that stops at
 * the first container past a limit; it does not check the JSON is valid (`JSON.parse` does, once
 * the shape is known to be cheap). A multi-byte character's bytes are never ASCII, so bytes
 * are read as characters safely.
 */
export const requestShapeFault = (
  bytes: Uint8Array,
  maxDepth: number,
  maxMembers: number,
): string | undefined => {
  // Per open container: whether it is an object, and how many separators it has held so far.
  const isObject = new Uint8Array(maxDepth + 1);
  const separators = new Uint32Array(maxDepth + 1);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return `a request may nest at most ${maxDepth} arrays and objects deep`;
      isObject[depth] = c === OPEN_OBJECT ? 1 : 0;
      separators[depth] = 0;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth = Math.max(0, depth - 1);
    else if (c === COMMA && isObject[depth] === 1 && ++separators[depth]! >= maxMembers)
      return `an object in a request may hold at most ${maxMembers} members`;
  }
  return undefined;
};
