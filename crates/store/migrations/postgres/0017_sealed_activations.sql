-- Activation codes at rest (docs/security.md, "Secrets at rest"). The QR payload holds
-- the activation code: it is now kept only sealed under the master key (`qr_sealed`),
-- and the code only as an HMAC under the master key. Rows from before keep the SHA-256
-- of their code, marked `sha256.` (their code still works until they expire) and lose
-- their clear payload (their QR image can no longer be downloaded again: 410).
UPDATE activations SET qr_payload = NULL;
UPDATE activations SET code_hash = 'sha256.' || code_hash;
ALTER TABLE activations DROP COLUMN qr_payload;
ALTER TABLE activations ADD COLUMN qr_sealed TEXT;
