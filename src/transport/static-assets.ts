import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

/** A static file to serve: where it is and its content type. */
export interface AssetSource {
  file: string;
  type: string;
}

/** A file read once at start, with what caching and integrity checks need. */
export interface StaticAsset {
  readonly type: string;
  readonly body: Buffer;
  /** The content hash: the ETag and the `?v=` of a URL that may be cached forever. */
  readonly hash: string;
  /** Subresource Integrity value (`sha384-…`) for `<script integrity>`. */
  readonly integrity: string;
  /** Compressed copies, made on first request. */
  readonly encoded: Map<Encoding, Promise<Buffer>>;
}

/** A file that could not be read at start (not built): answered 503 with what to run. */
export interface MissingAsset {
  readonly missing: string;
}

export type Assets = ReadonlyMap<string, StaticAsset | MissingAsset>;

type Encoding = 'br' | 'gzip';

const compressors: Record<Encoding, (body: Buffer) => Promise<Buffer>> = {
  br: (body) =>
    promisify(brotliCompress)(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }),
  gzip: (body) => promisify(gzip)(body, { level: 9 }),
};

/** A year: the longest lifetime caches are expected to honour. */
const FOREVER = 'public, max-age=31536000, immutable';

const makeAsset = (type: string, body: Buffer): StaticAsset => ({
  type,
  body,
  hash: createHash('sha256').update(body).digest('base64url').slice(0, 16),
  integrity: `sha384-${createHash('sha384').update(body).digest('base64')}`,
  encoded: new Map(),
});

/**
 * In an HTML page, a `<script src="/x.js">` of another asset gets its versioned URL and its
 * integrity hash, so the page loads exactly the script it was served with and caches it forever.
 */
const versionScripts = (html: string, scripts: ReadonlyMap<string, StaticAsset>): string =>
  html.replace(/<script src="(\/[\w.-]+\.js)"/g, (tag, path: string) => {
    const script = scripts.get(path);
    return script
      ? `<script src="${path}?v=${script.hash}" integrity="${script.integrity}" crossorigin="anonymous"`
      : tag;
  });

/** Reads every asset once; HTML pages last, since they name the scripts' versions. */
export const loadAssets = async (sources: ReadonlyMap<string, AssetSource>): Promise<Assets> => {
  const loaded = new Map<string, StaticAsset | MissingAsset>();
  const scripts = new Map<string, StaticAsset>();
  const read = async (path: string, { file }: AssetSource) => {
    try {
      return await readFile(file);
    } catch {
      loaded.set(path, { missing: `${path} is not built; run npm run build` });
      return undefined;
    }
  };
  const entries = [...sources];
  const isHtml = ([, s]: [string, AssetSource]) => s.type.startsWith('text/html');
  for (const [path, source] of entries.filter((e) => !isHtml(e))) {
    const body = await read(path, source);
    if (!body) continue;
    const asset = makeAsset(source.type, body);
    loaded.set(path, asset);
    scripts.set(path, asset);
  }
  for (const [path, source] of entries.filter(isHtml)) {
    const body = await read(path, source);
    if (body) loaded.set(path, makeAsset(source.type, Buffer.from(versionScripts(body.toString(), scripts))));
  }
  return loaded;
};

/** The encoding to send: brotli, else gzip, when the client accepts it (q > 0). */
export const pickEncoding = (acceptEncoding: string | undefined): Encoding | undefined => {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name) accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const ok = (name: Encoding) => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : undefined;
};

const matches = (ifNoneMatch: string | undefined, hash: string): boolean =>
  ifNoneMatch !== undefined &&
  ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === `"${hash}"` || t.startsWith(`"${hash}-`);
  });

/**
 * Serves a static asset: a content-hash ETag (304 on If-None-Match), brotli or gzip by
 * Accept-Encoding, CORS for any origin (a public script), and a cache lifetime of a year
 * when the URL names the current version (`?v=<hash>`), else revalidation on every use.
 */
export const sendAsset = async (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  asset: StaticAsset,
): Promise<void> => {
  const encoding = pickEncoding(req.headers['accept-encoding']);
  const headers: Record<string, string> = {
    'content-type': asset.type,
    etag: `"${asset.hash}${encoding ? `-${encoding}` : ''}"`,
    'cache-control': url.searchParams.get('v') === asset.hash ? FOREVER : 'public, no-cache',
    vary: 'Accept-Encoding',
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
  };
  if (matches(req.headers['if-none-match'], asset.hash)) {
    res.writeHead(304, headers);
    return void res.end();
  }
  let body = asset.body;
  if (encoding) {
    let pending = asset.encoded.get(encoding);
    if (!pending) asset.encoded.set(encoding, (pending = compressors[encoding](asset.body)));
    body = await pending;
    headers['content-encoding'] = encoding;
  }
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
};
