/**
 * Base of every error a user of the library, the CLI or the control API can catch. `code` is
 * stable (`ERR_APNS_...`): tell errors apart by it, never by their message text.
 */
export class ApnsMockError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input a person or a program can correct: a value out of range, a malformed token or duration. */
export class InputError extends ApnsMockError {
  constructor(message: string, code = 'ERR_APNS_INPUT') {
    super(code, message);
  }
}
