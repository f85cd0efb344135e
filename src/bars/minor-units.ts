/** Decimals a number read from the feed carries (`80.6` → 1): its shortest exact form. */
const decimalsOf = (x: number): number => {
  const text = String(x);
  const e = text.indexOf('e');
  if (e >= 0) {
    // Exponent form only for very small or large values: count the mantissa's decimals less the exponent.
    const mantissa = text.slice(0, e);
    const dot = mantissa.indexOf('.');
    return Math.max(0, (dot < 0 ? 0 : mantissa.length - dot - 1) - Number(text.slice(e + 1)));
  }
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
};

/**
 * `a − b` computed in integer minor units at the finer of the two scales, so `80.6 − 1.19`
 * is exactly 79.41 (float subtraction gives 79.41000000000001).
 */
export const subtractExact = (a: number, b: number): number => {
  const scale = 10 ** Math.max(decimalsOf(a), decimalsOf(b));
  return (Math.round(a * scale) - Math.round(b * scale)) / scale;
};
