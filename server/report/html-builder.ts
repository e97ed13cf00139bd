import { escapeHtml, showHtml } from './text.js';

/** Markup made by `el` or `raw`: the only thing written into a page unescaped. */
export class Html {
  constructor(readonly html: string) {}
}

/** Strings are text (escaped, hidden characters shown); Html is markup; null, undefined and false are nothing. */
export type Child = Html | string | number | null | undefined | false | Child[];

type AttributeValue = string | number | boolean | null | undefined;

export function render(child: Child): string {
  if (child === null || child === undefined || child === false) return '';
  if (child instanceof Html) return child.html;
  if (Array.isArray(child)) return child.map(render).join('');
  return showHtml(String(child));
}

/** An element; attribute names are the caller's own words, their values are escaped. */
export function el(tag: string, attributes: Record<string, AttributeValue> | null, ...children: Child[]): Html {
  let open = `<${tag}`;
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    open += value === true ? ` ${name}` : ` ${name}="${escapeHtml(String(value))}"`;
  }
  return new Html(`${open}>${children.map(render).join('')}</${tag}>`);
}

/** Markup the report itself wrote (its style sheet and script), never text from a record. */
export const raw = (html: string) => new Html(html);
