import { Tokenizer } from 'htmlparser2';

// Elements whose content is never page text: code, styling, form controls, navigation and page
// chrome. Not <form>: ASP.NET wraps the whole page in one.
const DROPPED = new Set([
  'script',
  'title',
  'style',
  'noscript',
  'template',
  'svg',
  'head',
  'nav',
  'header',
  'footer',
  'aside',
  'iframe',
  'select',
  'textarea',
  'button',
]);
// Block elements end a line, so a ticker row or a paragraph stays one line of text.
const BLOCKS = new Set(
  'p div li ul ol tr table h1 h2 h3 h4 h5 h6 br hr section article main blockquote dt dd pre figure figcaption form'.split(
    ' ',
  ),
);
// Table cells sit side by side on one line, apart: a browser puts a tab between them.
const CELLS = new Set(['td', 'th']);

/**
 * The readable text of an HTML page, one block a line: markup, comments, scripts, styles,
 * form controls and navigation removed, every HTML entity decoded, blank lines collapsed.
 *
 * htmlparser2's tokenizer reads the page (raw-text elements, comments, entities as browsers
 * do); this keeps no element stack, only how many dropped elements are open, so each tag
 * costs the same however deep or unbalanced a hostile page nests them: time is linear in the
 * page's size.
 */
export const htmlToText = (html: string): string => {
  const lines: string[] = [];
  let line = '';
  const dropped = new DroppedElements();
  let lastOpened = '';
  const name = (start: number, end: number) => html.slice(start, end).toLowerCase();
  const boundary = () => {
    lines.push(line);
    line = '';
  };
  const tokenizer = new Tokenizer(
    { decodeEntities: true },
    {
      ontext: (start, end) => {
        if (dropped.none) line += html.slice(start, end);
      },
      ontextentity: (codepoint) => {
        if (dropped.none) line += String.fromCodePoint(codepoint);
      },
      onopentagname: (start, end) => {
        const tag = (lastOpened = name(start, end));
        // <head> may end without its end tag: <body> closes it, as in a browser.
        if (tag === 'body') dropped.leaveAll('head');
        if (BLOCKS.has(tag) || DROPPED.has(tag)) boundary();
        else if (CELLS.has(tag)) line += ' ';
        dropped.enter(tag);
      },
      onselfclosingtag: () => {
        // Only foreign elements close themselves (<svg/>); <nav/> stays open in HTML too.
        if (lastOpened === 'svg') dropped.leave('svg');
      },
      onclosetag: (start, end) => {
        const tag = name(start, end);
        dropped.leave(tag);
        if (BLOCKS.has(tag) || DROPPED.has(tag)) boundary();
      },
      onattribdata: () => {},
      onattribentity: () => {},
      onattribend: () => {},
      onattribname: () => {},
      oncdata: () => {},
      oncomment: () => {},
      ondeclaration: () => {},
      onend: () => {},
      onopentagend: () => {},
      onprocessinginstruction: () => {},
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  boundary();
  return collapse(lines);
};

/** How many of each dropped element are open: text inside any of them is not kept. */
class DroppedElements {
  private readonly open = new Map<string, number>();
  private count = 0;

  get none(): boolean {
    return this.count === 0;
  }

  enter(tag: string): void {
    if (!DROPPED.has(tag)) return;
    this.open.set(tag, (this.open.get(tag) ?? 0) + 1);
    this.count++;
  }

  /** Closes one `tag`; an end tag with none open is ignored, as in a browser. */
  leave(tag: string): void {
    const n = this.open.get(tag) ?? 0;
    if (n === 0) return;
    this.open.set(tag, n - 1);
    this.count--;
  }

  leaveAll(tag: string): void {
    this.count -= this.open.get(tag) ?? 0;
    this.open.set(tag, 0);
  }
}

/** Lines as a browser shows them: any run of whitespace (newlines, tabs, NBSP) one space, blank runs one blank line. */
const collapse = (lines: string[]): string =>
  lines
    .map((text) => text.replace(/\s+/g, ' ').trim())
    .filter((text, i, all) => text !== '' || (i > 0 && all[i - 1] !== ''))
    .join('\n')
    .trim();
