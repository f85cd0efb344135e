// Elements whose content is never page text: code, styling, navigation and page chrome.
const DROPPED = [
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'head',
  'nav',
  'header',
  'footer',
  'aside',
  'form',
  'iframe',
];
const DROPPED_ELEMENTS = new RegExp(`<(${DROPPED.join('|')})\\b[^>]*>[\\s\\S]*?</\\1\\s*>`, 'gi');
// Block elements end a line, so a ticker row or a paragraph stays one line of text.
const BLOCK_BOUNDARY =
  /<\/?(p|div|li|ul|ol|tr|table|h[1-6]|br|hr|section|article|main|blockquote|dt|dd|pre|figure|figcaption)\b[^>]*>/gi;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

const decodeEntities = (text: string): string =>
  text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[name.toLowerCase()] ?? whole;
  });

/**
 * The readable text of an HTML page, one block a line: markup, comments, scripts, styles
 * and navigation removed, entities decoded, blank lines collapsed. Enough for the ticker
 * page; not a general HTML parser.
 */
export const htmlToText = (html: string): string =>
  decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(DROPPED_ELEMENTS, '\n')
      // As a browser does: a newline in the source is a space; only blocks break lines.
      .replace(/\s+/g, ' ')
      .replace(BLOCK_BOUNDARY, '\n')
      .replace(/<[^>]*>/g, ''),
  )
    .split('\n')
    .map((line) => line.replace(/[ \t\r\f\v\u00a0]+/g, ' ').trim())
    .filter((line, i, lines) => line !== '' || (i > 0 && lines[i - 1] !== ''))
    .join('\n')
    .trim();
