/** One server-sent event. */
export interface ServerEvent {
  event: string;
  data: string;
  id: string | null;
}

/**
 * The text/event-stream format (WHATWG HTML, "Parsing an event stream"): lines of
 * `field: value`, an event ends at a blank line, `:` starts a comment, lines may end in
 * CR, LF or CRLF, and several `data` lines join with LF. Fed text in any chunks.
 */
export class EventStreamParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | null = null;
  /** Set by a `retry` field: how long the server asks a client to wait before reconnecting. */
  retryMs: number | null = null;

  push(text: string, emit: (event: ServerEvent) => void): void {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const cr = this.buffer.indexOf('\r', start);
      const lf = this.buffer.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      // A CR at the very end may be the first half of a CRLF still to come.
      if (end === cr && end === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, end), emit);
      start = end + (this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1);
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string, emit: (event: ServerEvent) => void): void {
    if (line === '') {
      if (this.data.length > 0) emit({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }
}
