/** SHA-256 checks of stored bytes (Web Crypto). */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return hex(d);
}

function hex(b: Uint8Array): string {
  let out = '';
  for (const x of b) out += x.toString(16).padStart(2, '0');
  return out;
}

/**
 * The sha256 of an R2 object's bytes: the checksum R2 verified and stored at upload when the
 * writer sent one (no hashing: a 26 MB catalog snapshot costs ~90 ms to hash), else computed.
 */
export async function r2Sha256(obj: R2ObjectBody, bytes: ArrayBuffer): Promise<string> {
  const stored = obj.checksums.sha256;
  return stored && obj.size === bytes.byteLength ? hex(new Uint8Array(stored)) : sha256Hex(bytes);
}
