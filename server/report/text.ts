/**
 * Text from the wire (payloads, tokens, reasons, headers) made safe to show: escaped for HTML or
 * XML, with the characters that hide or reorder text (bidi overrides, controls) shown by name.
 */

/** Bidi embeddings, overrides and isolates, and the marks: each can make shown text lie about its order. */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
/** C0 and C1 controls but tab and newline, which a <pre> shows as they are. */

const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
const HIDDEN = new RegExp(`${BIDI.source}|${CONTROL.source}`, 'g');

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Escapes text for HTML content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Escaped, with each bidi or control character replaced by a visible mark naming it (`⟨U+202E⟩`). */
export function showHtml(text: string): string {
  return escapeHtml(text).replace(HIDDEN, (c) => `<span class="hidden-char" title="an invisible character">⟨${codePoint(c)}⟩</span>`);
}

/** Whether a string holds characters `showHtml` marks. */
export function hasHiddenCharacters(text: string): boolean {
  HIDDEN.lastIndex = 0;
  return HIDDEN.test(text);
}

/**
 * What XML 1.0 cannot hold at all, escaped or not: controls but tab, newline and return, lone
 * surrogates, U+FFFE and U+FFFF. Replaced by their code point in words, so a reader sees one was there.
 */
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text for XML content or a double-quoted attribute: escaped, what XML 1.0 forbids replaced, bidi controls named. */
export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, (c) => `[${codePoint(c)}]`)
    .replace(new RegExp(BIDI.source, 'g'), (c) => `[${codePoint(c)}]`)
    .replace(/[&<>"]/g, (c) => HTML_ESCAPES[c])
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}
