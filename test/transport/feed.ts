import type { Frame } from '../../src/source/frame.ts';

/**
 * A generated ticker frame: `count` stock symbols T0, T1, … whose prices move with `step`, so
 * every step changes every symbol. `pad` lengthens the symbol names to make deltas bigger.
 */
export const quoteFrame = (step: number, count = 20, symbols = (i: number) => `T${i}`): Frame => {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const change = 0.01 * (step + 1) + i / 100;
    const price = 100 + change;
    lines.push(
      `${symbols(i)} ${price.toFixed(2)} Increased By ▲ ${change.toFixed(2)} (${((change / 100) * 100).toFixed(2)}%)`,
    );
  }
  return { text: lines.join('\n'), origin: `generated:${step}` };
};

/** A frame holding one news story with `words` words of text. */
export const storyFrame = (title: string, words = 40): Frame => ({
  text: `KARACHI: ${title} ${'market news '.repeat(words)}.\n\nMore text follows here for the story body.`,
  origin: `story:${title}`,
});
