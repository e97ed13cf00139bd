import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** TLS alert descriptions (RFC 5246, section 7.2) the tap sends for a refused client certificate. */
export const TlsAlert = {
  BadCertificate: 42,
  CertificateRevoked: 44,
  CertificateExpired: 45,
  UnknownCa: 48,
} as const;

export const TLS_ALERT_NAMES: Record<number, string> = {
  42: 'bad certificate',
  44: 'certificate revoked',
  45: 'certificate expired',
  48: 'unknown CA',
};

/** What the tap decided about a client certificate (its leaf, DER): null lets the handshake go on. */
export type CertificateJudge = (der: Buffer) => { alert: number; reason: string } | null;

export interface RefusedHandshake {
  alert: number;
  reason: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** The refused leaf certificate (DER). */
  der: Buffer;
}

const RECORD_HEADER = 5;
const CONTENT_CHANGE_CIPHER_SPEC = 20;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CERTIFICATE = 11;
/** Beyond this the client's first flights are not inspected any more (OpenSSL caps a certificate list at 100 KB). */
const MAX_INSPECTED = 256 * 1024;
/** How long a refused connection waits for the client's close after the alert. */
const LINGER_MS = 2000;

/**
 * Sits between a TCP socket and OpenSSL for the handshake of a TLS 1.2 connection, where the
 * client's Certificate message travels in clear before its ChangeCipherSpec. node's TLS server
 * verifies a client certificate only after OpenSSL finished the handshake and can then only
 * close, so a refused certificate would never get its alert; here the Certificate message is
 * judged before OpenSSL reads it, and a refused one is answered with a plaintext fatal alert
 * record (the client has not switched ciphers yet, so it reads it) and the close. After the
 * client's ChangeCipherSpec every byte passes through untouched.
 */
export class HandshakeTap extends Duplex {
  private inspecting = true;
  private inspected = 0;
  private records: Buffer = Buffer.alloc(0);
  private handshake: Buffer = Buffer.alloc(0);
  private refused = false;
  private linger: NodeJS.Timeout | null = null;

  constructor(
    readonly tcp: Socket,
    private readonly judge: CertificateJudge,
    private readonly onRefused: (refusal: RefusedHandshake) => void,
  ) {
    super({ allowHalfOpen: false });
    tcp.on('data', (chunk: Buffer) => {
      if (this.refused) return;
      if (this.inspecting && !this.inspect(chunk)) return;
      if (!this.push(chunk)) tcp.pause();
    });
    tcp.on('end', () => {
      if (!this.refused) this.push(null);
    });
    tcp.on('error', (error) => this.destroy(error));
    tcp.on('close', () => {
      if (this.linger !== null) clearTimeout(this.linger);
      if (!this.destroyed) this.destroy();
    });
  }

  get remoteAddress(): string | undefined {
    return this.tcp.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.tcp.remotePort;
  }

  /** A 'drop' fault resets the TCP connection under the TLS one. */
  resetAndDestroy(): this {
    if (!this.tcp.destroyed) this.tcp.resetAndDestroy();
    this.destroy();
    return this;
  }

  override _read(): void {
    if (!this.refused) this.tcp.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.refused || this.tcp.destroyed) {
      callback();
      return;
    }
    this.tcp.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.refused) this.tcp.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.refused) this.tcp.destroy();
    callback(error);
  }

  /** Returns false when the chunk must not reach OpenSSL (the handshake was refused). */
  private inspect(chunk: Buffer): boolean {
    this.inspected += chunk.length;
    if (this.inspected > MAX_INSPECTED) return this.stopInspecting();
    this.records = this.records.length === 0 ? chunk : Buffer.concat([this.records, chunk]);
    while (this.records.length >= RECORD_HEADER) {
      const type = this.records[0];
      // Not a TLS record (plain text, SSLv2): OpenSSL answers it.
      if (type < CONTENT_CHANGE_CIPHER_SPEC || type > 24) return this.stopInspecting();
      const length = this.records.readUInt16BE(3);
      if (this.records.length < RECORD_HEADER + length) break;
      const version = this.records.readUInt16BE(1);
      const body = this.records.subarray(RECORD_HEADER, RECORD_HEADER + length);
      this.records = this.records.subarray(RECORD_HEADER + length);
      // From the client's ChangeCipherSpec on, its records are encrypted: nothing more to read.
      if (type === CONTENT_CHANGE_CIPHER_SPEC) return this.stopInspecting();
      if (type !== CONTENT_HANDSHAKE) continue;
      this.handshake = this.handshake.length === 0 ? body : Buffer.concat([this.handshake, body]);
      if (!this.readMessages(version)) return false;
    }
    // What is kept must outlive the chunk it came in.
    if (this.records.length > 0) this.records = Buffer.from(this.records);
    if (this.handshake.length > 0) this.handshake = Buffer.from(this.handshake);
    return true;
  }

  private readMessages(version: number): boolean {
    while (this.handshake.length >= 4) {
      const type = this.handshake[0];
      const length = this.handshake.readUIntBE(1, 3);
      if (this.handshake.length < 4 + length) return true;
      const message = this.handshake.subarray(4, 4 + length);
      this.handshake = this.handshake.subarray(4 + length);
      if (type !== HANDSHAKE_CERTIFICATE) continue;
      // certificate_list: u24 length, then u24 length + DER per certificate, the leaf first.
      if (message.length < 6) return this.stopInspecting();
      const leafLength = message.readUIntBE(3, 3);
      if (6 + leafLength > message.length) return this.stopInspecting();
      const verdict = this.judge(message.subarray(6, 6 + leafLength));
      if (verdict === null) return this.stopInspecting();
      this.refuse(version, verdict.alert, verdict.reason, Buffer.from(message.subarray(6, 6 + leafLength)));
      return false;
    }
    return true;
  }

  private stopInspecting(): true {
    this.inspecting = false;
    this.records = Buffer.alloc(0);
    this.handshake = Buffer.alloc(0);
    return true;
  }

  private refuse(version: number, alert: number, reason: string, der: Buffer): void {
    this.stopInspecting();
    this.refused = true;
    // level 2 (fatal), then the description, in a record of the version the client uses now.
    const record = Buffer.of(21, version >> 8, version & 0xff, 0, 2, 2, alert);
    this.tcp.resume();
    this.tcp.end(record);
    this.linger = setTimeout(() => this.tcp.destroy(), LINGER_MS);
    this.onRefused({ alert, reason, remoteAddress: this.tcp.remoteAddress, remotePort: this.tcp.remotePort, der });
    // OpenSSL never saw the certificate: its side of the handshake ends here.
    this.destroy();
  }
}
