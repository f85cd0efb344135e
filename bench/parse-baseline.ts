/**
 * The naive parser the benchmark measures ours against: split into lines, normalize each
 * with a regex, match one regex per line, `Number()` the captures. Written the obvious way on
 * purpose; it reads quotes and datelines and nothing else.
 */
const QUOTE =
  /^([A-Z][A-Z0-9]{0,11}(?:-[A-Z0-9]{1,8})?) ((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?) (Increased By|Decreased By|No Change)(?=[ ▲▼]) ?([▲▼])? ?([-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?) ?\( ?([-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?) ?% ?\)$/;
const DATELINE = /^([A-Z][A-Z.'’ /-]*[A-Z.]):\s+(\S.*)$/;

/** What the baseline reads from a quote line. */
export interface BaselineQuote {
  type: 'quote';
  symbol: string;
  kind: 'stock' | 'index';
  price: number;
  change: number;
  changePercent: number;
  direction: 'up' | 'down' | 'unchanged';
  line: number;
}

/** What the baseline reads from a dateline paragraph. */
export interface BaselineStory {
  type: 'headline';
  dateline: string;
  lead: string;
  line: number;
}

const toNumber = (text: string) => Number(text.replace(/,/g, ''));

/** Reads one line the naive way; null when it is not a quote. */
export const baselineQuote = (raw: string, line: number): BaselineQuote | null => {
  const m = QUOTE.exec(raw.replace(/\s+/g, ' ').trim());
  if (!m) return null;
  const direction = m[3] === 'Increased By' ? 'up' : m[3] === 'Decreased By' ? 'down' : 'unchanged';
  const sign = direction === 'down' ? -1 : 1;
  // A move's sign comes from its words; under "No Change" only the written sign says anything.
  const change = direction === 'unchanged' ? toNumber(m[5]!) : sign * Math.abs(toNumber(m[5]!));
  const percent = direction === 'unchanged' ? toNumber(m[6]!) : sign * Math.abs(toNumber(m[6]!));
  return {
    type: 'quote',
    symbol: m[1]!,
    kind: m[4] === undefined ? 'index' : 'stock',
    price: toNumber(m[2]!),
    change,
    changePercent: percent,
    direction,
    line,
  };
};

/** Parses a whole text the naive way. */
export const baselineParse = (text: string): (BaselineQuote | BaselineStory)[] => {
  const events: (BaselineQuote | BaselineStory)[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const quote = baselineQuote(lines[i]!, i + 1);
    if (quote) {
      events.push(quote);
      continue;
    }
    const d = DATELINE.exec(lines[i]!.trim());
    if (d) events.push({ type: 'headline', dateline: d[1]!, lead: d[2]!, line: i + 1 });
  }
  return events;
};
