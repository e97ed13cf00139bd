import { explain, verdictWords, type ExplainedField, type ExplainedFrame, type Explanation } from '../../protocol/binary/index.js';
import type { NotificationRecord } from '../recorder/index.js';
import { el, type Child, type Html } from './html-builder.js';

const BYTES_PER_LINE = 8;
const spaced = (hex: string) => hex.replace(/(..)(?!$)/g, '$1 ');
const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/**
 * Which field a rejection by the gateway's policy (registry, rules, strict mode) is about, by
 * its status: the frame itself was well formed, so `explain` marks nothing. As the inspector does.
 */
const POLICY_FIELD: Record<number, string> = { 2: 'device token', 5: 'device token', 8: 'device token', 4: 'payload', 7: 'payload' };

export const statusText = (r: Pick<NotificationRecord, 'status' | 'statusName'>) =>
  r.status === null ? '' : r.statusName ? `${r.status} ${r.statusName}` : String(r.status);

/** A binary record's bytes explained, with the gateway's own verdict marked where `explain` alone cannot see it. */
export function explainRecord(r: NotificationRecord): { explanation: Explanation; note: string | null } {
  const explanation = explain(Buffer.from(r.bytes, 'hex'));
  const frame = explanation.frames[0];
  if (frame === undefined) return { explanation, note: null };
  if (r.outcome === 'rejected' && frame.verdict.outcome === 'accepted' && r.reason !== null) {
    const name = r.status === null ? undefined : POLICY_FIELD[r.status];
    const field: ExplainedField | undefined = name === undefined ? undefined : [...frame.fields].reverse().find((f) => f.name === name);
    if (field && !frame.fields.some((f) => f.problem !== undefined)) field.problem = r.reason;
    return {
      explanation,
      note: `The frame is well formed; the gateway's ${r.rule ? `rule ${r.rule}` : 'policy'} rejected it with status ${statusText(r)}.`,
    };
  }
  if (r.outcome === 'accepted' && frame.verdict.outcome === 'rejected') {
    return {
      explanation,
      note: `Explained with Apple's limits, this frame is rejected (${frame.verdict.reason}); the simulator ran with other limits and accepted it.`,
    };
  }
  if (r.outcome === 'discarded')
    return { explanation, note: 'The gateway had already failed this connection: it read this frame but did not judge it.' };
  return { explanation, note: null };
}

function hexCell(hex: string): Child {
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += BYTES_PER_LINE * 2) lines.push(spaced(hex.slice(i, i + BYTES_PER_LINE * 2)));
  if (lines.length === 0) return el('span', { class: 'muted' }, '(none)');
  if (lines.length <= 4) return el('span', { class: 'hex' }, lines.join('\n'));
  const hidden = hex.length / 2 - 4 * BYTES_PER_LINE;
  return [
    el('span', { class: 'hex' }, lines.slice(0, 4).join('\n')),
    el('details', null, el('summary', null, plural(hidden, 'more byte')), el('span', { class: 'hex' }, lines.slice(4).join('\n'))),
  ];
}

function fieldRows(field: ExplainedField): Html[] {
  const rows = [
    el(
      'tr',
      { class: field.problem === undefined ? 'field' : 'field problem', 'data-field': field.name },
      el('td', { class: 'num' }, field.offset),
      el('td', null, hexCell(field.hex)),
      el('th', { scope: 'row' }, field.problem === undefined ? null : '✗ ', field.name),
      el('td', null, field.meaning),
    ),
  ];
  if (field.problem !== undefined)
    rows.push(
      el(
        'tr',
        { class: 'problem-reason' },
        el('td', null),
        el('td', { colspan: 3 }, el('strong', null, `✗ ${field.name}: `), field.problem),
      ),
    );
  return rows;
}

function verdictLine(frame: ExplainedFrame): Child[] {
  const { lead, errorResponse, tail } = verdictWords(frame.verdict);
  const chip = el('span', { class: `chip outcome-${frame.verdict.outcome}` }, frame.verdict.outcome);
  return errorResponse === null ? [chip, lead] : [chip, [lead, el('code', null, spaced(errorResponse)), tail]];
}

/** An explanation as a table per frame (offset, bytes, field, meaning), the failing field marked with its reason: the inspector's view, as markup. */
export function explanationHtml(e: Explanation, options: { verdict: boolean }): Html {
  return el(
    'div',
    { class: 'explanation' },
    e.frames.length !== 1 ? el('p', { class: e.accepted ? 'summary ok' : 'summary bad' }, e.summary) : null,
    e.frames.map((frame, index) => {
      const command =
        frame.command === null
          ? 'no command byte'
          : `command ${frame.command}${frame.commandName ? ` (${frame.commandName})` : ' (unknown)'}`;
      return el(
        'section',
        { class: 'frame' },
        el(
          'table',
          { class: 'bytes-table' },
          el('caption', null, `Frame ${index + 1} at offset ${frame.offset}: ${command}, ${plural(frame.length, 'byte')}`),
          el('thead', null, el('tr', null, ...['Offset', 'Bytes', 'Field', 'Meaning'].map((name) => el('th', { scope: 'col' }, name)))),
          el('tbody', null, frame.fields.flatMap(fieldRows)),
        ),
        options.verdict
          ? el(
              'div',
              { class: `verdict verdict-${frame.verdict.outcome}` },
              el('p', null, verdictLine(frame)),
              frame.verdict.reason ? el('p', { class: 'reason' }, frame.verdict.reason) : null,
              frame.verdict.hints.length > 0
                ? el(
                    'ul',
                    { class: 'hints' },
                    frame.verdict.hints.map((hint) => el('li', null, hint)),
                  )
                : null,
            )
          : null,
      );
    }),
  );
}
