/**
 * The widget's stylesheet, scoped by its Shadow DOM. Colours follow TradingView's tape. The
 * `--tt-*` custom properties are set on `:host`, so a page's own rule on `tick-tape` wins
 * over both themes (README: "Styling").
 */
export const STYLES = `
:host {
  --tt-bg: #ffffff; --tt-fg: #131722; --tt-muted: #6a6d78; --tt-border: #e0e3eb;
  --tt-up: #089981; --tt-down: #f23645; --tt-flat: #787b86;
  --tt-flash-up: rgba(8, 153, 129, 0.22); --tt-flash-down: rgba(242, 54, 69, 0.22);
  --tt-warn: #f7a600; --tt-font: -apple-system, BlinkMacSystemFont, "Trebuchet MS", Roboto, Ubuntu, sans-serif;
  display: block; contain: content; font: 14px/1.2 var(--tt-font); color: var(--tt-fg);
}
:host([hidden]) { display: none; }
.root { color: var(--tt-fg); background: var(--tt-bg); border: 1px solid var(--tt-border); border-radius: 6px; overflow: hidden; }
:host([theme='dark']) {
  --tt-bg: #131722; --tt-fg: #d1d4dc; --tt-muted: #8b8f9a; --tt-border: #2a2e39;
  --tt-up: #22ab94; --tt-down: #f7525f; --tt-flat: #8b8f9a;
  --tt-flash-up: rgba(34, 171, 148, 0.3); --tt-flash-down: rgba(247, 82, 95, 0.3);
}
.bar { display: flex; align-items: center; height: 44px; }
.viewport { position: relative; flex: 1; min-width: 0; height: 100%; overflow: hidden;
  -webkit-mask-image: linear-gradient(90deg, transparent 0, #000 24px, #000 calc(100% - 24px), transparent 100%);
  mask-image: linear-gradient(90deg, transparent 0, #000 24px, #000 calc(100% - 24px), transparent 100%); }
.track { display: flex; width: max-content; height: 100%; will-change: transform; }
.scrolling .track { animation: tt-scroll var(--tt-duration, 60s) linear infinite; }
.scrolling[dir='rtl'] .track { animation-name: tt-scroll-rtl; }
.scrolling .viewport:hover .track, .scrolling .viewport:focus-within .track, .paused .track { animation-play-state: paused; }
@keyframes tt-scroll { from { transform: translateX(0); } to { transform: translateX(-50%); } }
@keyframes tt-scroll-rtl { from { transform: translateX(0); } to { transform: translateX(50%); } }
.items { display: flex; align-items: center; margin: 0; padding: 0; padding-inline-start: 8px; list-style: none; }
.copy { display: none; }
.scrolling .copy { display: flex; }
.item { display: inline-flex; align-items: baseline; gap: 6px; padding-inline: 10px 18px; white-space: nowrap;
  border-inline-end: 1px solid var(--tt-border); font-variant-numeric: tabular-nums; }
.sym { font-weight: 600; letter-spacing: 0.01em; }
.price { color: var(--tt-fg); border-radius: 3px; padding: 1px 3px; }
.chg, .pct { font-size: 13px; }
/* Signed numbers read left to right in every script: "+1.19", not "1.19+". */
.price, .chg, .pct { direction: ltr; unicode-bidi: isolate; }
.up .chg, .up .pct, .up .arrow { color: var(--tt-up); }
.down .chg, .down .pct, .down .arrow { color: var(--tt-down); }
.unchanged .chg, .unchanged .pct, .unchanged .arrow { color: var(--tt-flat); }
.arrow { font-size: 10px; }
.unchanged .arrow { font-size: 7px; vertical-align: 2px; }
.flash-up { animation: tt-flash-up 0.9s ease-out; }
.flash-down { animation: tt-flash-down 0.9s ease-out; }
@keyframes tt-flash-up { from { background: var(--tt-flash-up); } to { background: transparent; } }
@keyframes tt-flash-down { from { background: var(--tt-flash-down); } to { background: transparent; } }
button.pause { flex: none; display: grid; place-items: center; width: 28px; height: 28px; margin-inline: 8px 4px;
  border: 1px solid var(--tt-border); border-radius: 50%; background: transparent; color: var(--tt-muted);
  cursor: pointer; font: 10px/1 var(--tt-font); padding: 0; }
button.pause:hover { color: var(--tt-fg); border-color: var(--tt-muted); }
button.pause:focus-visible { outline: 2px solid #2962ff; outline-offset: 1px; }
.viewport:focus-visible { outline: 2px solid #2962ff; outline-offset: -2px; }
.root:not(.scrolling) button.pause { display: none; }
.root:not(.scrolling) .viewport { overflow-x: auto; scrollbar-width: thin; }
.root:not(.scrolling) .item:last-child { border-inline-end: 0; }
.status { flex: none; display: inline-flex; align-items: center; gap: 6px; padding: 0 12px; color: var(--tt-muted);
  font-size: 12px; white-space: nowrap; }
.dot { width: 7px; height: 7px; border-radius: 50%; background: var(--tt-flat); }
.status[data-tone="live"] .dot { background: var(--tt-up); box-shadow: 0 0 0 3px var(--tt-flash-up); }
.status[data-tone="warn"] .dot { background: var(--tt-warn); }
.status[data-tone="live"] .label { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
.message { flex: none; max-width: 50%; margin: 0; margin-inline-start: 10px; padding: 3px 8px; border-radius: 4px; font-size: 12px;
  color: var(--tt-muted); background: color-mix(in srgb, var(--tt-warn) 14%, transparent);
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.message[hidden] { display: none; }
.empty .message { max-width: none; flex: 1; background: none; }
.empty .viewport { display: none; }
.stale .items { opacity: 0.55; }
.news { display: flex; align-items: center; gap: 8px; height: 30px; padding: 0 12px; border-top: 1px solid var(--tt-border);
  font-size: 13px; color: var(--tt-fg); overflow: hidden; white-space: nowrap; }
.news[hidden] { display: none; }
.news .tag { flex: none; font-size: 11px; font-weight: 700; letter-spacing: 0.06em; color: var(--tt-bg);
  background: var(--tt-down); border-radius: 3px; padding: 2px 6px; }
.news .headline { overflow: hidden; text-overflow: ellipsis; }
.news .dateline { font-weight: 600; margin-inline-end: 4px; }
.news .fresh { animation: tt-fade 0.6s ease-out; }
@keyframes tt-fade { from { opacity: 0; } to { opacity: 1; } }
@media (prefers-reduced-motion: reduce) {
  .scrolling .track { animation: none; }
  .scrolling .copy { display: none; }
  .viewport { overflow-x: auto; scrollbar-width: thin; -webkit-mask-image: none; mask-image: none; }
  button.pause { display: none; }
  .news .fresh { animation: none; }
}
`;
