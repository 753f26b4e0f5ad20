/**
 * CURVE keys for the dispatcher–worker link: making key pairs, reading and checking them,
 * and the allowlist of worker public keys the dispatcher accepts (see zap.ts).
 *
 * Keys are Z85 text, 40 characters for 32 bytes, as libzmq and zeromq.js use them.
 *
 * A key pair file (what `faas keygen` writes, mode 0600):
 *
 *   # faaslab CURVE key pair ...
 *   public=<40 characters>
 *   secret=<40 characters>
 *
 * `secret` is required; `public` is optional but, when present, must be the secret's own
 * public key (it is derived from the secret and compared, which catches a mixed-up file).
 *
 * An allowlist file: one worker public key per line, optionally followed by a label
 * (`<key> worker-a`); blank lines and `#` comment lines are ignored. (`#` is also a Z85
 * character: a line whose first word is a 40-character key is a key, even if it starts with `#`.)
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { curveKeyPair } from "zeromq";

export interface CurveKeyPair {
  /** Z85, 40 characters. */
  publicKey: string;
  /** Z85, 40 characters. */
  secretKey: string;
}

/** A key or key file that cannot be used; the message says which and why. */
export class CurveKeyError extends Error {
  override name = "CurveKeyError";
}

const Z85_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_VALUES = new Map([...Z85_ALPHABET].map((char, value) => [char, value]));
export const Z85_KEY_LENGTH = 40;

/** Decodes a Z85 key into its 32 bytes, or says what is wrong with it (`what` names it). */
export function decodeKey(text: string, what = "the key"): Buffer {
  if (text.length !== Z85_KEY_LENGTH) {
    throw new CurveKeyError(`${what} must be ${Z85_KEY_LENGTH} characters of Z85 (as faas keygen prints), got ${text.length}`);
  }
  const bytes = Buffer.alloc(32);
  for (let block = 0; block < 8; block++) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const char = text[block * 5 + i];
      const digit = Z85_VALUES.get(char);
      if (digit === undefined) throw new CurveKeyError(`${what} is not Z85: it contains ${JSON.stringify(char)}`);
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) throw new CurveKeyError(`${what} is not valid Z85 (a block overflows 32 bits)`);
    bytes.writeUInt32BE(value, block * 4);
  }
  return bytes;
}

export function encodeKey(bytes: Buffer): string {
  if (bytes.length !== 32) throw new CurveKeyError(`a CURVE key is 32 bytes, got ${bytes.length}`);
  let text = "";
  for (let block = 0; block < 8; block++) {
    let value = bytes.readUInt32BE(block * 4);
    let chunk = "";
    for (let i = 0; i < 5; i++) {
      chunk = Z85_ALPHABET[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

function isZ85Key(text: string): boolean {
  return text.length === Z85_KEY_LENGTH && [...text].every((char) => Z85_VALUES.has(char));
}

/** Blank, or a `#` comment; a key that happens to start with `#` is not one. */
function isCommentOrBlank(line: string): boolean {
  return line === "" || (line.startsWith("#") && !isZ85Key(line.split(/\s+/)[0]));
}

/** A checked Z85 key, returned unchanged. */
export function checkKey(text: string, what = "the key"): string {
  decodeKey(text, what);
  return text;
}

// PKCS#8 header of a raw X25519 private key: lets node:crypto derive a public key from a Z85 secret.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a secret key (Curve25519, as libzmq computes it). */
export function publicKeyOf(secretKey: string, what = "the secret key"): string {
  const secret = decodeKey(secretKey, what);
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: "der", type: "pkcs8" });
  const { x } = createPublicKey(privateKey).export({ format: "jwk" });
  return encodeKey(Buffer.from(x!, "base64url"));
}

export function generateKeyPair(): CurveKeyPair {
  return curveKeyPair();
}

/** A key pair from its secret key alone (e.g. from FAAS_CURVE_SECRET_KEY). */
export function keyPairFromSecret(secretKey: string, what = "the secret key"): CurveKeyPair {
  return { publicKey: publicKeyOf(secretKey.trim(), what), secretKey: secretKey.trim() };
}

export function formatKeyPairFile(pair: CurveKeyPair, comment = "faaslab CURVE key pair (Z85). Keep this file secret: give others only the public key."): string {
  return `# ${comment}\npublic=${pair.publicKey}\nsecret=${pair.secretKey}\n`;
}

/** `name=value` lines, `#` comments and blank lines ignored. */
function keyValues(text: string, file: string): Map<string, string> {
  const values = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(public|secret)\s*=\s*(\S*)$/.exec(line);
    if (!match) throw new CurveKeyError(`${file}, line ${index + 1}: expected public=<key> or secret=<key>`);
    if (values.has(match[1])) throw new CurveKeyError(`${file}, line ${index + 1}: ${match[1]} is given twice`);
    values.set(match[1], match[2]);
  });
  return values;
}

export function parseKeyPairFile(text: string, file: string): CurveKeyPair {
  const values = keyValues(text, file);
  const secretKey = values.get("secret");
  if (secretKey === undefined) throw new CurveKeyError(`${file} has no secret=<key> line: is it a key pair file made by faas keygen?`);
  const pair = keyPairFromSecret(secretKey, `the secret key in ${file}`);
  const stated = values.get("public");
  if (stated !== undefined && stated !== pair.publicKey) {
    checkKey(stated, `the public key in ${file}`);
    throw new CurveKeyError(`${file}: the public key is not the secret key's own (the file is mixed up)`);
  }
  return pair;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new CurveKeyError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function readKeyPairFile(file: string): CurveKeyPair {
  return parseKeyPairFile(readText(file, "the key pair file"), file);
}

/** Whether a key pair file can be read by other users than its owner (it should not be). */
export function isReadableByOthers(file: string): boolean {
  return (statSync(file).mode & 0o077) !== 0;
}

/** Writes a key pair file readable by its owner only; refuses to overwrite one. */
export function writeKeyPairFile(file: string, pair: CurveKeyPair): void {
  try {
    writeFileSync(file, formatKeyPairFile(pair), { mode: 0o600, flag: "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new CurveKeyError(`${file} already exists: a key pair is not overwritten (remove the file first)`);
    throw new CurveKeyError(`cannot write ${file}: ${code ?? (error as Error).message}`);
  }
}

/** The key pair in `file`, made and written there first if the file does not exist. */
export function ensureKeyPairFile(file: string): CurveKeyPair {
  if (!existsSync(file)) writeKeyPairFile(file, generateKeyPair());
  return readKeyPairFile(file);
}

/**
 * A public key given as Z85 text, or as a file holding it (a bare key, or a `public=` line).
 * A file that also holds a secret key is refused: only the public key should leave its owner.
 */
export function readPublicKey(keyOrFile: string, what: string): string {
  const given = keyOrFile.trim();
  if (isZ85Key(given)) return checkKey(given, what);
  if (!existsSync(given)) throw new CurveKeyError(`${what} "${given}" is neither a Z85 key (40 characters, as faas keygen prints) nor a file`);
  const text = readText(given, what);
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => !isCommentOrBlank(line));
  if (lines.some((line) => line.startsWith("secret"))) {
    throw new CurveKeyError(`${given} holds a secret key: ${what} must be the public key only (copy its public= line)`);
  }
  if (lines.length !== 1) throw new CurveKeyError(`${given} must hold exactly one key (${what}), found ${lines.length} lines`);
  const key = lines[0].replace(/^public\s*=\s*/, "");
  return checkKey(key, `${what} in ${given}`);
}

// --- the allowlist -------------------------------------------------------------------

/** Allowed worker public keys (Z85) with their labels ("" when none). */
export type AllowedKeys = ReadonlyMap<string, string>;

/** Parses an allowlist: one `<key> [label]` per line, `#` comments. `source` names it in errors. */
export function parseAllowlist(text: string, source: string): AllowedKeys {
  const keys = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (isCommentOrBlank(line)) return;
    const [key, ...label] = line.split(/\s+/);
    checkKey(key, `${source}, line ${index + 1}: the key`);
    keys.set(key, label.join(" "));
  });
  return keys;
}

/** An allowlist given inline (FAAS_CURVE_ALLOW): keys separated by commas, spaces or newlines. */
export function parseInlineAllowlist(text: string, source: string): AllowedKeys {
  return parseAllowlist(text.split(/[\s,]+/).join("\n"), source);
}

/**
 * Adds a key to an allowlist file (unless it is there already), replacing the file in one
 * step so that a dispatcher reading it never sees half of it.
 */
export function addToAllowlist(file: string, publicKey: string, label = ""): void {
  checkKey(publicKey, "the public key to allow");
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (parseAllowlist(text, file).has(publicKey)) return;
  if (text !== "" && !text.endsWith("\n")) text += "\n";
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${text}${publicKey}${label ? ` ${label}` : ""}\n`, { mode: 0o644 });
  renameSync(temporary, file);
}

/** Who may connect: a fixed set of keys, or a file that is read again whenever it changes. */
export interface Allowlist {
  /** The key's label ("" if none) when it is allowed, undefined when it is not. */
  lookup(publicKey: string): string | undefined;
  readonly size: number;
  /** Where the keys come from, for logs. */
  readonly source: string;
}

export function fixedAllowlist(keys: AllowedKeys, source: string): Allowlist {
  return { lookup: (key) => keys.get(key), size: keys.size, source };
}

/**
 * An allowlist file, checked for changes (by size, mtime and inode) at each lookup, i.e. at
 * each new connection: workers can be added without restarting the dispatcher. A file that
 * has become unreadable or malformed keeps the last good keys, and `onReloadError` says why.
 */
export function fileAllowlist(file: string, onReloadError: (error: Error) => void = () => {}): Allowlist {
  const stamp = () => {
    const stats = statSync(file);
    return `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
  };
  // The version last looked at, good or bad: a bad one is reported once, not at every connection.
  let seenStamp = stamp();
  let keys = parseAllowlist(readText(file, "the allowlist"), file);
  const refresh = () => {
    let now: string;
    try {
      now = stamp();
    } catch (error) {
      now = `missing:${(error as NodeJS.ErrnoException).code}`;
      if (now !== seenStamp) onReloadError(new CurveKeyError(`cannot read the allowlist ${file}: ${(error as NodeJS.ErrnoException).code}`));
      seenStamp = now;
      return;
    }
    if (now === seenStamp) return;
    seenStamp = now;
    try {
      keys = parseAllowlist(readText(file, "the allowlist"), file);
    } catch (error) {
      onReloadError(error as Error);
    }
  };
  return {
    lookup(key) {
      refresh();
      return keys.get(key);
    },
    get size() {
      return keys.size;
    },
    source: file,
  };
}
