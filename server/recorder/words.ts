// How a record's alert and token are put in words, for the field table's filters and the record
// tables alike (a module of its own, so the field table does not import the tables).

/** The alert a person would see: `aps.alert` when it is a string, else `aps.alert.body`. */
export function alertOf(payloadJson: unknown): string | null {
  const aps = (payloadJson as { aps?: unknown } | null)?.aps;
  if (aps === null || typeof aps !== 'object') return null;
  const alert = (aps as { alert?: unknown }).alert;
  if (typeof alert === 'string') return alert;
  if (alert !== null && typeof alert === 'object' && typeof (alert as { body?: unknown }).body === 'string')
    return (alert as { body: string }).body;
  return null;
}

/** A 64-character token shortened so a table stays narrow but the ends can still be compared. */
export function shortToken(token: string | null): string {
  if (token === null) return '-';
  return token.length > 20 ? `${token.slice(0, 8)}…${token.slice(-8)}` : token || '(empty)';
}
