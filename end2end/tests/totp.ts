// TOTP codes as an authenticator app computes them (RFC 6238 over RFC 4226): HMAC-SHA1,
// 30-second steps from the Unix epoch, 6 digits. Only for tests: the secret comes from the page.
import { createHmac } from "node:crypto";

export const STEP_SECONDS = 30;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Decodes RFC 4648 base32; spaces, dashes, padding and case do not matter. */
export function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text.replace(/[\s=-]/g, "").toUpperCase()) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new Error(`not a base32 character: ${JSON.stringify(char)}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The time step of a moment (milliseconds since the epoch, like `Date.now()`). */
export function stepAt(millis: number): number {
  return Math.floor(millis / 1000 / STEP_SECONDS);
}

/** The code of one time step (RFC 4226 dynamic truncation). */
export function codeForStep(key: Buffer, step: number, digits = 6): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary =
    ((mac[offset] & 0x7f) << 24) |
    (mac[offset + 1] << 16) |
    (mac[offset + 2] << 8) |
    mac[offset + 3];
  return (binary % 10 ** digits).toString().padStart(digits, "0");
}

/** The code an app shows now for a base32 secret, with its step. */
export function currentCode(secret: string): { code: string; step: number } {
  const step = stepAt(Date.now());
  return { code: codeForStep(base32Decode(secret), step), step };
}

/**
 * A code the server has not seen yet: the server refuses any step at or before the last one it
 * accepted (`usedStep`) and allows one step of clock skew either way. Uses the current step if
 * it is newer, else the next one (still within the skew); if even that was used, waits for
 * the step to change.
 */
export async function freshCode(
  secret: string,
  usedStep: number,
): Promise<{ code: string; step: number }> {
  const key = base32Decode(secret);
  for (;;) {
    const now = Date.now();
    const current = stepAt(now);
    const step = Math.max(current, usedStep + 1);
    if (step <= current + 1) return { code: codeForStep(key, step), step };
    const nextStepAt = (current + 1) * STEP_SECONDS * 1000;
    await new Promise((r) => setTimeout(r, nextStepAt - now + 250));
  }
}
