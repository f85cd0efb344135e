/** The demo page (`GET /`): a live sortable quote table, headlines, status and the embed snippet. */
import { connect } from '../client.ts';
import { arrow, formatChange, formatPercent, formatPrice, formatTime, priceMove } from '../format.ts';
import { wsUrlOf } from '../server-url.ts';
import type { Headline, Quote } from '../protocol/index.ts';

type SortKey = 'symbol' | 'price' | 'change' | 'changePercent' | 'ts';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const HEADLINES_SHOWN = 8;

const client = connect(wsUrlOf(location.href));
const body = $<HTMLTableSectionElement>('#quotes tbody');
const rows = new Map<string, HTMLTableRowElement>();
let sort: { key: SortKey; dir: 1 | -1 } = { key: 'symbol', dir: 1 };

const compare = (a: Quote, b: Quote): number => {
  const x = a[sort.key];
  const y = b[sort.key];
  return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
};

const fillRow = (tr: HTMLTableRowElement, q: Quote) => {
  tr.className = q.direction;
  const cells = tr.cells;
  cells[0]!.replaceChildren(q.symbol);
  if (q.kind === 'index') {
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = 'index';
    cells[0]!.append(' ', badge);
  }
  cells[1]!.textContent = formatPrice(q.price);
  cells[2]!.textContent = `${arrow(q.direction)} ${formatChange(q.change)}`;
  cells[3]!.textContent = formatPercent(q.changePercent);
  cells[4]!.textContent = formatTime(q.ts);
};

/** Puts rows in the current sort order, making rows for new symbols. */
const renderTable = () => {
  const quotes = client.quotes.all().sort(compare);
  for (const symbol of rows.keys()) if (!client.quotes.get(symbol)) rows.delete(symbol);
  body.replaceChildren(
    ...quotes.map((q) => {
      let tr = rows.get(q.symbol);
      if (!tr) {
        tr = document.createElement('tr');
        tr.dataset.symbol = q.symbol;
        for (let i = 0; i < 5; i++) tr.insertCell();
        rows.set(q.symbol, tr);
      }
      fillRow(tr, q);
      return tr;
    }),
  );
  $('#count').textContent = `${quotes.length} symbols`;
  for (const th of document.querySelectorAll<HTMLElement>('#quotes th[data-key]'))
    th.setAttribute(
      'aria-sort',
      th.dataset.key === sort.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none',
    );
};

const flash = (node: HTMLElement, move: 'up' | 'down') => {
  node.classList.remove('flash-up', 'flash-down');
  // Reading layout restarts the animation when a row flashes twice in a row.
  void node.offsetWidth;
  node.classList.add(`flash-${move}`);
};

const renderHeadlines = (fresh?: Headline) => {
  const list = $('#headlines');
  const latest = client.headlines.slice(-HEADLINES_SHOWN).reverse();
  list.replaceChildren(
    ...latest.map((h) => {
      const li = document.createElement('li');
      if (h === fresh) li.className = 'fresh';
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = `${h.dateline || 'NEWS'} · ${formatTime(h.ts)}`;
      const title = document.createElement('div');
      title.className = 'title';
      title.textContent = h.title;
      const text = document.createElement('p');
      text.textContent = h.text.length > 220 ? `${h.text.slice(0, 220).trimEnd()}…` : h.text;
      li.append(meta, title, text);
      return li;
    }),
  );
  if (latest.length === 0) list.innerHTML = '<li class="none">No headlines yet</li>';
};

const chip = (id: string, text: string, tone: 'good' | 'warn' | 'quiet') => {
  const node = $(id);
  node.textContent = text;
  node.dataset.tone = tone;
};

const renderStatus = () => {
  const state = client.state;
  chip(
    '#conn',
    state === 'open'
      ? 'Connected'
      : state === 'reconnecting'
        ? 'Reconnecting…'
        : state === 'closed'
          ? 'Closed'
          : state === 'failed'
            ? `Refused: ${client.refusal ?? ''}`
            : 'Connecting…',
    state === 'open' ? 'good' : state === 'connecting' ? 'quiet' : 'warn',
  );
  const status = client.status;
  if (status) {
    chip('#market', `Market ${status.market}`, status.market === 'open' ? 'good' : 'quiet');
    chip(
      '#feed',
      `Feed ${status.state}`,
      status.state === 'running' ? 'good' : status.state === 'stale' ? 'warn' : 'quiet',
    );
  }
  const position = client.position;
  $('#seq').textContent = position ? `seq ${position.seq}` : '';
};

client.on('state', renderStatus);
client.on('status', renderStatus);
client.on('snapshot', ({ channel }) => {
  if (channel === 'quotes') renderTable();
  else renderHeadlines();
  renderStatus();
});
client.on('resync', renderTable);
client.on('headline', (h) => {
  renderHeadlines(h);
  renderStatus();
});
client.on('quote', ({ quote, previous }) => {
  const tr = rows.get(quote.symbol);
  if (!tr || sort.key !== 'symbol') renderTable();
  else fillRow(tr, quote);
  const move = priceMove(previous, quote);
  const row = rows.get(quote.symbol);
  if (row && move !== 'unchanged') flash(row, move);
  renderStatus();
});
client.on('error', ({ code, message }) => {
  if (code !== 'heartbeat_timeout') console.warn(`tickstream: ${code}: ${message}`);
});
client.subscribe('quotes');
client.subscribe('headlines');

for (const th of document.querySelectorAll<HTMLElement>('#quotes th[data-key]')) {
  th.querySelector('button')!.addEventListener('click', () => {
    const key = th.dataset.key as SortKey;
    sort = { key, dir: sort.key === key ? (-sort.dir as 1 | -1) : key === 'symbol' ? 1 : -1 };
    renderTable();
  });
}

// The server versions this page's own script tag (`?v=<hash>` and its integrity hash): the
// snippet embeds exactly that file, so a browser can cache it forever and check what it runs.
const widget = document.querySelector<HTMLScriptElement>('script[src*="/widget.js"]');
const integrity = widget?.integrity ? ` integrity="${widget.integrity}" crossorigin="anonymous"` : '';
const snippet = `<script src="${widget?.src ?? `${location.origin}/widget.js`}"${integrity} defer></script>
<tick-tape symbols="KSE100,HBL,OGDC,PPL,TRG,HUBC" theme="dark" show-headlines></tick-tape>`;
$('#snippet').textContent = snippet;
$('#copy').addEventListener('click', () => {
  const done = (text: string) => {
    $('#copy').textContent = text;
    setTimeout(() => ($('#copy').textContent = 'Copy'), 1500);
  };
  if (!navigator.clipboard) return done('Select and copy');
  navigator.clipboard.writeText(snippet).then(
    () => done('Copied'),
    () => done('Select and copy'),
  );
});
renderStatus();
renderHeadlines();
