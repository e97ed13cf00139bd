// Every element is built here, and text only ever enters the page as text nodes or
// attribute values: nothing a notification carries is parsed as markup.

export type Child = Node | string | number | null | undefined | false;
type Handler = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'class') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : visibleText(String(value)));
  }
  append(element, children);
  return element;
}

/**
 * Bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069): invisible,
 * they reorder the text around them, so a token or reason could read as something it is not.
 */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
/** The same, without the global flag: test() keeps no lastIndex, which matchAll() would start from. */
const HAS_BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;

const codeOf = (char: string) => `\\u${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** The text with each bidi control written out as its escape (\u202E): for attributes and plain text. */
export function visibleText(text: string): string {
  return text.replace(BIDI_CONTROLS, codeOf);
}

/** Text as nodes: bidi controls become marked escapes (valid inside JSON strings too), the rest plain text. */
function textNodes(parent: Node, text: string): void {
  if (!HAS_BIDI_CONTROL.test(text)) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  let at = 0;
  for (const match of text.matchAll(BIDI_CONTROLS)) {
    if (match.index > at) parent.appendChild(document.createTextNode(text.slice(at, match.index)));
    const mark = document.createElement('span');
    mark.className = 'bidi';
    mark.title = 'a bidirectional control character, shown as its escape';
    mark.textContent = codeOf(match[0]);
    parent.appendChild(mark);
    at = match.index + match[0].length;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (typeof child === 'object') parent.appendChild(child);
    else textNodes(parent, String(child));
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
}
