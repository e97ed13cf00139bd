import { createHash, X509Certificate } from 'node:crypto';
import { X509Certificate as AsnCertificate } from '@peculiar/x509';
import { readChildren, readTlv, TAG_IA5_STRING, TAG_OCTET_STRING, TAG_PRINTABLE_STRING, TAG_SEQUENCE, TAG_UTF8_STRING } from './der.js';
import { OID_APNS_DEVELOPMENT, OID_APNS_PRODUCTION, OID_APNS_TOPICS, OID_USER_ID } from './oids.js';
import type { ApnsEnvironment } from './provider.js';

/** Who a provider is, as its client certificate says. */
export interface ProviderIdentity {
  /** The subject's UID: the bundle id. */
  topic: string | null;
  /** The UID followed by the topics of extension 1.2.840.113635.100.6.3.6, without repeats. */
  topics: string[];
  /**
   * From the environment extensions. 'unknown' when there is none, and also when there are
   * both: Apple's later certificates carried both and worked in either environment, so the
   * environment the gateway itself plays decides.
   */
  environment: ApnsEnvironment | 'unknown';
  commonName: string | null;
  /** Hex, as node prints it; empty when the bytes are not a certificate. */
  serialNumber: string;
  /** SHA-256 of the DER bytes, colon-separated hex as node prints it. */
  fingerprint256: string;
}

function colonHex(bytes: Buffer): string {
  return bytes
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

const STRING_TAGS = new Set([TAG_UTF8_STRING, TAG_PRINTABLE_STRING, TAG_IA5_STRING]);

/** The topics in the value of extension 1.2.840.113635.100.6.3.6; kinds (the nested sequences) are skipped. */
export function topicsFromExtension(value: Uint8Array): string[] {
  let outer = readTlv(value);
  // Some tools wrap the sequence in one more OCTET STRING; accept both.
  if (outer && outer.tag === TAG_OCTET_STRING) outer = readTlv(outer.contents);
  if (!outer || outer.tag !== TAG_SEQUENCE) return [];
  const children = readChildren(outer.contents) ?? [];
  const decoder = new TextDecoder('utf-8', { fatal: false });
  return children.filter((child) => STRING_TAGS.has(child.tag)).map((child) => decoder.decode(child.contents));
}

/** node's one-line-per-attribute subject, for certificates @peculiar/x509 cannot parse. */
function fieldFromSubjectText(subject: string, name: string): string | null {
  for (const line of subject.split('\n')) {
    if (line.startsWith(`${name}=`)) return line.slice(name.length + 1);
  }
  return null;
}

/**
 * Reads who the provider is from its certificate (`socket.getPeerX509Certificate()`, or DER
 * bytes). Never throws: what cannot be read comes back as null, 'unknown' or empty.
 */
export function providerIdentity(cert: X509Certificate | Buffer | Uint8Array | null | undefined): ProviderIdentity {
  const identity: ProviderIdentity = {
    topic: null,
    topics: [],
    environment: 'unknown',
    commonName: null,
    serialNumber: '',
    fingerprint256: '',
  };
  if (cert === null || cert === undefined) return identity;

  let node: X509Certificate | null;
  let raw: Buffer;
  if (cert instanceof X509Certificate) {
    node = cert;
    raw = cert.raw;
  } else {
    raw = Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength);
    try {
      node = new X509Certificate(raw);
    } catch {
      node = null;
    }
  }
  identity.fingerprint256 = node?.fingerprint256 ?? colonHex(createHash('sha256').update(raw).digest());
  identity.serialNumber = node?.serialNumber ?? '';

  let parsed: AsnCertificate | null;
  try {
    parsed = new AsnCertificate(new Uint8Array(raw));
  } catch {
    parsed = null;
  }

  let extensionTopics: string[] = [];
  const environments: ApnsEnvironment[] = [];
  if (parsed) {
    try {
      identity.topic = parsed.subjectName.getField(OID_USER_ID)[0] ?? null;
      identity.commonName = parsed.subjectName.getField('CN')[0] ?? null;
    } catch {
      // An attribute value of an unexpected type; fall back to node's reading below.
    }
    try {
      const types = new Set(parsed.extensions.map((extension) => extension.type));
      if (types.has(OID_APNS_DEVELOPMENT)) environments.push('development');
      if (types.has(OID_APNS_PRODUCTION)) environments.push('production');
      const topicsExtension = parsed.extensions.find((extension) => extension.type === OID_APNS_TOPICS);
      if (topicsExtension) extensionTopics = topicsFromExtension(new Uint8Array(topicsExtension.value));
    } catch {
      // Leave the environment unknown.
    }
  }
  if (node && (identity.topic === null || identity.commonName === null)) {
    try {
      identity.topic ??= fieldFromSubjectText(node.subject, 'UID');
      identity.commonName ??= fieldFromSubjectText(node.subject, 'CN');
    } catch {
      // No subject to read.
    }
  }
  if (environments.length === 1) identity.environment = environments[0];
  identity.topics = [...new Set([...(identity.topic === null ? [] : [identity.topic]), ...extensionTopics])];
  return identity;
}
