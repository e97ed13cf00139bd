import { verdictWords, type ExplainedField, type ExplainedFrame, type Explanation } from '../../protocol/binary/explain.js';
import { h, type Child } from './dom.js';

/** As `apns-mock decode` prints them; the narrower record pane asks for 8. */
const BYTES_PER_LINE = 16;
/** Lines of a field's bytes shown before the rest folds away. */
const SHOWN_LINES = 4;

const spaced = (hex: string) => hex.replace(/(..)(?!$)/g, '$1 ');
const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

function hexCell(hex: string, perLine: number): HTMLElement {
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += perLine * 2) lines.push(spaced(hex.slice(i, i + perLine * 2)));
  if (lines.length === 0) return h('span', { class: 'muted' }, '(none)');
  const shown = h('span', { class: 'hex' }, lines.slice(0, SHOWN_LINES).join('\n'));
  if (lines.length <= SHOWN_LINES) return shown;
  const rest = lines.slice(SHOWN_LINES);
  const hidden = hex.length / 2 - SHOWN_LINES * perLine;
  return h(
    'div',
    null,
    shown,
    h('details', null, h('summary', null, `${plural(hidden, 'more byte')}`), h('span', { class: 'hex' }, rest.join('\n'))),
  );
}

function fieldRows(field: ExplainedField, frameIndex: number, perLine: number): HTMLTableRowElement[] {
  const problem = field.problem !== undefined;
  const rows = [
    h(
      'tr',
      { class: problem ? 'field problem' : 'field', 'data-field': field.name },
      h('td', { class: 'num' }, String(field.offset)),
      h('td', null, hexCell(field.hex, perLine)),
      h('th', { scope: 'row' }, problem ? h('span', { class: 'mark', 'aria-hidden': 'true' }, '✗ ') : null, field.name),
      h('td', null, field.meaning),
    ),
  ];
  if (problem) {
    rows.push(
      h(
        'tr',
        { class: 'problem-reason', 'data-frame': frameIndex },
        h('td', null),
        h('td', { colspan: 3 }, h('strong', null, `✗ ${field.name}: `), field.problem ?? ''),
      ),
    );
  }
  return rows;
}

function verdictLine(frame: ExplainedFrame): Child[] {
  const { lead, errorResponse, tail } = verdictWords(frame.verdict);
  const chip = h('span', { class: `chip outcome-${frame.verdict.outcome}` }, frame.verdict.outcome);
  return errorResponse === null ? [chip, lead] : [chip, h('span', null, lead, h('code', null, spaced(errorResponse)), tail)];
}

export function payloadView(text: string, json: unknown, hasJson: boolean): HTMLElement {
  return h('pre', { class: 'payload' }, hasJson ? JSON.stringify(json, null, 2) : text);
}

export interface ExplainViewOptions {
  /** Show each frame's payload (a record shows its payload in a section of its own). */
  payload?: boolean;
  /** Show each frame's verdict (a record whose fate the gateway's policy decided shows its own instead). */
  verdict?: boolean;
  bytesPerLine?: number;
}

/** An explanation as a table per frame: offset, bytes, field and meaning, the failing field marked with its reason. */
export function renderExplanation(e: Explanation, options: ExplainViewOptions = {}): HTMLElement {
  const root = h('div', { class: 'explanation' });
  if (e.frames.length !== 1) root.append(h('p', { class: e.accepted ? 'summary ok' : 'summary bad' }, e.summary));
  e.frames.forEach((frame, index) => {
    const command =
      frame.command === null
        ? 'no command byte'
        : `command ${frame.command}${frame.commandName ? ` (${frame.commandName})` : ' (unknown)'}`;
    const table = h(
      'table',
      { class: 'bytes-table' },
      h('caption', null, `Frame ${index + 1} at offset ${frame.offset}: ${command}, ${plural(frame.length, 'byte')}`),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, 'Offset'),
          h('th', { scope: 'col' }, 'Bytes'),
          h('th', { scope: 'col' }, 'Field'),
          h('th', { scope: 'col' }, 'Meaning'),
        ),
      ),
      h('tbody', null, ...frame.fields.flatMap((f) => fieldRows(f, index, options.bytesPerLine ?? BYTES_PER_LINE))),
    );
    const verdict = h(
      'div',
      { class: `verdict verdict-${frame.verdict.outcome}` },
      h('p', null, ...verdictLine(frame)),
      frame.verdict.reason ? h('p', { class: 'reason' }, frame.verdict.reason) : null,
      frame.verdict.hints.length > 0 ? h('ul', { class: 'hints' }, ...frame.verdict.hints.map((hint) => h('li', null, hint))) : null,
    );
    const frameView = h('section', { class: 'frame' }, table, options.verdict === false ? null : verdict);
    if (options.payload !== false && frame.payload) {
      frameView.append(h('h4', null, 'Payload'), payloadView(frame.payload.text, frame.payload.json, frame.payload.json !== undefined));
      if (frame.payload.warnings.length > 0)
        frameView.append(h('ul', { class: 'warnings' }, ...frame.payload.warnings.map((w) => h('li', null, w.message))));
    }
    root.append(frameView);
  });
  return root;
}
