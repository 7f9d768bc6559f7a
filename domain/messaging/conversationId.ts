/**
 * The id of the conversation between two people about a room (or about nothing in particular): a name-based UUID
 * (RFC 9562 version 5, SHA-1) of the sorted pair and the room under a fixed namespace, so the same pair and room
 * always give the same id, whoever starts it. The domain imports nothing, so SHA-1 is written out here; the tests
 * check it against the `uuid` package.
 */
export const CONVERSATION_NAMESPACE = '3d0c2f8e-6b7a-4f4e-9c1d-8a5e2b7f0c31';

export function conversationId(a: string, b: string, roomId: string | null): string {
  const [low, high] = [a.toLowerCase(), b.toLowerCase()].sort();
  return uuidV5(`${low}|${high}|${roomId?.toLowerCase() ?? '-'}`, CONVERSATION_NAMESPACE);
}

export function uuidV5(name: string, namespace: string): string {
  const hex = namespace.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError('the namespace must be a UUID');
  const ns = new Uint8Array(16);
  for (let i = 0; i < 16; i++) ns[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const text = new TextEncoder().encode(name);
  const input = new Uint8Array(16 + text.length);
  input.set(ns, 0);
  input.set(text, 16);
  const bytes = sha1(input).subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const out = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${out.slice(0, 8)}-${out.slice(8, 12)}-${out.slice(12, 16)}-${out.slice(16, 20)}-${out.slice(20)}`;
}

/** SHA-1 (FIPS 180-4) of a byte string. */
export function sha1(message: Uint8Array): Uint8Array {
  const bitLength = message.length * 8;
  const padded = new Uint8Array((((message.length + 8) >> 6) + 1) * 64);
  padded.set(message);
  padded[message.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLength / 2 ** 32));
  view.setUint32(padded.length - 4, bitLength >>> 0);
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const w = new Uint32Array(80);
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + 4 * i);
    for (let i = 16; i < 80; i++) w[i] = rotl(w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!, 1);
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (rotl(a, 5) + f + e + k + w[i]!) >>> 0;
      e = d;
      d = c;
      c = rotl(b, 30) >>> 0;
      b = a;
      a = t;
    }
    h0 = (h0 + a) >>> 0;
    h1 = (h1 + b) >>> 0;
    h2 = (h2 + c) >>> 0;
    h3 = (h3 + d) >>> 0;
    h4 = (h4 + e) >>> 0;
  }
  const digest = new Uint8Array(20);
  const out = new DataView(digest.buffer);
  for (const [i, h] of [h0, h1, h2, h3, h4].entries()) out.setUint32(4 * i, h);
  return digest;
}
