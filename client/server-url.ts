/**
 * The WebSocket URL for a `src` value: `ws(s)://…` as given, `http(s)://host` → `ws(s)://host/ws`,
 * and no value → `fallback` (the origin the widget script came from, else the page's).
 * Returns an error message instead of throwing, so the widget can show it.
 */
export const serverUrl = (src: string | null, fallback: string): { url: string } | { error: string } => {
  const raw = src?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: `src "${raw}" is not a URL (expected ws://host:port/ws)` };
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (url.pathname === '/') url.pathname = '/ws';
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    return { error: `src "${raw}" must start with ws://, wss://, http:// or https://` };
  return { url: url.href };
};

/** `ws(s)://<host>/ws` of an http(s) page or script URL. */
export const wsUrlOf = (httpUrl: string): string => {
  const u = new URL(httpUrl);
  return `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/ws`;
};
