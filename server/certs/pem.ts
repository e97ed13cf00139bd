// Apart from issue.ts so that the public types do not reach @peculiar/x509's: a consumer
// compiling with skipLibCheck false would type-check that library's declarations too.
/** A certificate and its private key, both PEM (the key unencrypted PKCS#8). */
export interface PemPair {
  cert: string;
  key: string;
}
