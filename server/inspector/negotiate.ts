/**
 * Whether a request's Accept header asks for an HTML page before JSON. Browsers navigating
 * send `text/html,...,*\/*;q=0.8`; curl and fetch send `*\/*` (or `application/json`), and
 * `*\/*` never counts as asking for HTML, so they keep getting JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    const mediaType = type.trim();
    if (mediaType === 'text/html' || mediaType === 'application/xhtml+xml') html = Math.max(html, q);
    else if (mediaType === 'application/json') json = Math.max(json, q);
  }
  return html > 0 && html >= json;
}
