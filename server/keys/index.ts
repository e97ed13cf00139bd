export {
  KeyStore,
  KeyStoreError,
  KEYS_DIR,
  checkKeyId,
  checkTeamId,
  generateSigningKeyPair,
  p8FileName,
  writeP8,
  type AddKeyOptions,
  type ProviderKey,
  type ProviderKeyInfo,
  type SigningKey,
} from './store.js';
