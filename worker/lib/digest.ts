/** SHA-256 of bytes as lowercase hex (Web Crypto). */
export async function sha256Hex(bytes: ArrayBuffer | Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let out = '';
  for (const b of d) out += b.toString(16).padStart(2, '0');
  return out;
}
