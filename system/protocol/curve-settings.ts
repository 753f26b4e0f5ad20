/**
 * CURVE settings of the dispatcher and the workers, from command-line options and the
 * environment. Secrets come from files or the environment only, never from the command line
 * (which `ps` shows). Anything missing or malformed is a CurveKeyError whose message says what
 * to give; the CLI prints it and exits 1.
 *
 *   dispatcher: --curve-secret-key-file <file> | FAAS_CURVE_SECRET_KEY (its secret key, Z85)
 *               --curve-allow <file>           | FAAS_CURVE_ALLOW (worker public keys, comma- or space-separated)
 *   worker:     --curve-server-key <key|file>  | FAAS_CURVE_SERVER_KEY (the dispatcher's public key)
 *               --curve-secret-key-file <file> | FAAS_CURVE_SECRET_KEY (its secret key, Z85)
 */
import {
  CurveKeyError, fileAllowlist, fixedAllowlist, isReadableByOthers, keyPairFromSecret, parseInlineAllowlist, readKeyPairFile, readPublicKey,
  type Allowlist, type CurveKeyPair,
} from "./curve.js";

export interface DispatcherCurveOptions {
  curveSecretKeyFile?: string;
  curveAllow?: string;
}

export interface WorkerCurveOptions {
  curveSecretKeyFile?: string;
  curveServerKey?: string;
}

type Env = Record<string, string | undefined>;

export interface Resolved<T> {
  /** Undefined when CURVE is off. */
  settings: T | undefined;
  /** Things to log: a world-readable key file, an empty allowlist. */
  warnings: string[];
}

const present = (value: string | undefined): string | undefined => (value === undefined || value.trim() === "" ? undefined : value);

function ownKeyPair(file: string | undefined, env: Env, warnings: string[]): CurveKeyPair | undefined {
  if (file !== undefined) {
    const pair = readKeyPairFile(file);
    if (isReadableByOthers(file)) warnings.push(`${file} holds a secret key and other users can read it: chmod 600 ${file}`);
    return pair;
  }
  const secret = present(env.FAAS_CURVE_SECRET_KEY);
  return secret === undefined ? undefined : keyPairFromSecret(secret, "FAAS_CURVE_SECRET_KEY");
}

export function dispatcherCurve(options: DispatcherCurveOptions, env: Env = process.env, onReloadError?: (error: Error) => void): Resolved<{ keyPair: CurveKeyPair; allowlist: Allowlist }> {
  const warnings: string[] = [];
  const keyPair = ownKeyPair(options.curveSecretKeyFile, env, warnings);
  const inline = present(env.FAAS_CURVE_ALLOW);
  if (keyPair === undefined) {
    if (options.curveAllow !== undefined || inline !== undefined) {
      throw new CurveKeyError("an allowlist of workers was given but CURVE is off: give the dispatcher's key pair with --curve-secret-key-file <file> (faas keygen makes one) or FAAS_CURVE_SECRET_KEY");
    }
    return { settings: undefined, warnings };
  }
  let allowlist: Allowlist;
  if (options.curveAllow !== undefined) {
    allowlist = fileAllowlist(options.curveAllow, onReloadError);
    if (allowlist.size === 0) warnings.push(`the allowlist ${options.curveAllow} holds no key yet: no worker can connect until one is added (the file is read again when it changes)`);
  } else if (inline !== undefined) {
    const keys = parseInlineAllowlist(inline, "FAAS_CURVE_ALLOW");
    if (keys.size === 0) throw new CurveKeyError("FAAS_CURVE_ALLOW holds no key");
    allowlist = fixedAllowlist(keys, "FAAS_CURVE_ALLOW");
  } else {
    throw new CurveKeyError("CURVE is on but no worker is allowed: give --curve-allow <file> (worker public keys, one per line) or FAAS_CURVE_ALLOW");
  }
  return { settings: { keyPair, allowlist }, warnings };
}

export function workerCurve(options: WorkerCurveOptions, env: Env = process.env): Resolved<{ serverKey: string; keyPair: CurveKeyPair }> {
  const warnings: string[] = [];
  const serverKeyGiven = options.curveServerKey ?? present(env.FAAS_CURVE_SERVER_KEY);
  const keyPair = ownKeyPair(options.curveSecretKeyFile, env, warnings);
  if (serverKeyGiven === undefined && keyPair === undefined) return { settings: undefined, warnings };
  if (serverKeyGiven === undefined) {
    throw new CurveKeyError("CURVE needs the dispatcher's public key too: --curve-server-key <key or file> or FAAS_CURVE_SERVER_KEY");
  }
  if (keyPair === undefined) {
    throw new CurveKeyError("CURVE needs this worker's key pair too: --curve-secret-key-file <file> (faas keygen makes one) or FAAS_CURVE_SECRET_KEY");
  }
  const serverKey = readPublicKey(serverKeyGiven, "the dispatcher's public key");
  return { settings: { serverKey, keyPair }, warnings };
}
