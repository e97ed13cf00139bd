/** Object identifiers found in Apple's push certificates. */

/** Subject attribute `UID` (RFC 4519 userid): Apple put the bundle id, which is the topic, here. */
export const OID_USER_ID = '0.9.2342.19200300.100.1.1';

/** Extension present in certificates for the development (sandbox) environment; its value is a DER NULL. */
export const OID_APNS_DEVELOPMENT = '1.2.840.113635.100.6.3.1';

/** Extension present in certificates for the production environment; its value is a DER NULL. */
export const OID_APNS_PRODUCTION = '1.2.840.113635.100.6.3.2';

/**
 * Extension listing every topic the certificate may push to. Its value is a SEQUENCE
 * alternating a topic (UTF8String) and a SEQUENCE naming its kind, for example
 * `"com.example.app", {"app"}, "com.example.app.voip", {"voip"}`.
 */
export const OID_APNS_TOPICS = '1.2.840.113635.100.6.3.6';
