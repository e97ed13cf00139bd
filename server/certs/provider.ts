import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
} from '@peculiar/x509';
import { DER_NULL, encodeSequence, encodeUtf8String } from './der.js';
import { generateKey, issueCertificate, parsePrivateKey, privateKeyPem } from './issue.js';
import type { PemPair } from './pem.js';
import { OID_APNS_DEVELOPMENT, OID_APNS_PRODUCTION, OID_APNS_TOPICS, OID_USER_ID } from './oids.js';

export type ApnsEnvironment = 'development' | 'production';

export interface ProviderCertificateOptions {
  /** The bundle id, e.g. com.example.app: the certificate's UID and its topic. */
  topic: string;
  /** Default development. */
  environment?: ApnsEnvironment;
  /** More topics, e.g. com.example.app.voip, listed with the topic in extension 1.2.840.113635.100.6.3.6. */
  extraTopics?: string[];
  /** Default a few minutes ago. */
  notBefore?: Date;
  /** Default 13 months after notBefore, as Apple issued them. */
  notAfter?: Date;
  /** Default `Apple Push Services: <topic>`. */
  commonName?: string;
  /** Default rsa (2048 bits, as Apple's were). ec (P-256) is much faster to generate but cannot go into a .p12 here. */
  keyType?: 'rsa' | 'ec';
}

const ENVIRONMENT_OIDS: Record<ApnsEnvironment, string> = {
  development: OID_APNS_DEVELOPMENT,
  production: OID_APNS_PRODUCTION,
};

const CLOCK_SKEW_MS = 5 * 60_000;

function checkTopic(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '' || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new TypeError(`${what} must be a non-empty bundle id such as com.example.app; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The kind Apple paired with each topic: the suffix after the bundle id (voip, complication), else app. */
function topicKind(topic: string, extra: string): string {
  return extra.startsWith(`${topic}.`) ? extra.slice(topic.length + 1) : 'app';
}

function topicsExtensionValue(topic: string, extraTopics: string[]): Uint8Array<ArrayBuffer> {
  const items: Uint8Array[] = [encodeUtf8String(topic), encodeSequence([encodeUtf8String('app')])];
  for (const extra of extraTopics) {
    items.push(encodeUtf8String(extra), encodeSequence([encodeUtf8String(topicKind(topic, extra))]));
  }
  return encodeSequence(items);
}

/**
 * A provider (client) certificate shaped like the ones Apple issued: subject
 * `UID=<topic>, CN=Apple Push Services: <topic>`, the environment's extension, the topics
 * extension when there are extra topics, client-authentication usage; signed by `ca`.
 */
export async function createProviderCertificate(ca: PemPair, options: ProviderCertificateOptions): Promise<PemPair> {
  const topic = checkTopic(options?.topic, 'topic');
  const environment = options.environment ?? 'development';
  if (!(environment in ENVIRONMENT_OIDS)) {
    throw new RangeError(`environment must be development or production; got ${JSON.stringify(environment)}`);
  }
  const extraTopics = [...new Set((options.extraTopics ?? []).map((t, i) => checkTopic(t, `extraTopics[${i}]`)))].filter(
    (t) => t !== topic,
  );
  const notBefore = options.notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS);
  let notAfter = options.notAfter;
  if (!notAfter) {
    notAfter = new Date(notBefore);
    notAfter.setUTCMonth(notAfter.getUTCMonth() + 13);
  }
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()) || notAfter <= notBefore) {
    throw new RangeError('notAfter must be a valid date after notBefore');
  }
  const caKey = parsePrivateKey(ca.key, 'the CA key');
  const key = await generateKey(options.keyType ?? 'rsa');

  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.clientAuth]),
    new Extension(ENVIRONMENT_OIDS[environment], false, DER_NULL),
  ];
  if (extraTopics.length > 0) extensions.push(new Extension(OID_APNS_TOPICS, false, topicsExtensionValue(topic, extraTopics)));

  const cert = await issueCertificate({
    // Apple's order: UID first, then CN, then the organization.
    subject: [
      { [OID_USER_ID]: [{ utf8String: topic }] },
      { CN: [{ utf8String: options.commonName ?? `Apple Push Services: ${topic}` }] },
      { O: [{ utf8String: 'apns-mock-gateway' }] },
    ],
    subjectKey: key,
    issuer: { cert: ca.cert, key: caKey },
    notBefore,
    notAfter,
    extensions,
  });
  return { cert, key: privateKeyPem(key) };
}
