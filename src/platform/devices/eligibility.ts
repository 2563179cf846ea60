import { errors } from '../errors.ts';

/**
 * Which phones may carry device cards (DESIGN section 3): data, not code. MIUI stable builds
 * have four numeric parts (8.0.6.0, often written V8.0.6.0.NCACNEB); developer builds have
 * three (6.8.23, year.month.day).
 */
export const eligibleModels: readonly string[] = [
  'Mi 5', 'Mi 5s', 'Mi 5s Plus', 'Mi Note 2', 'Mi MIX', 'Mi MIX 2', 'Mi MIX 2s', 'Mi MIX 3', 'Mi 6', 'Mi 8', 'Mi 9', 'Mi 9 SE', 'Mi Note 3',
];
export const minimumStableMiui = [8, 0, 6, 0] as const;
export const minimumDevMiui = [6, 8, 23] as const;

/** "Mi MIX 2s", "mix 2S" and "MI MIX 2S" name the same phone; the "Mi " prefix is optional. */
export function normalizeModel(model: string): string | undefined {
  const key = (m: string) => m.toLowerCase().replace(/^mi\s+/, '').replace(/\s+/g, ' ').trim();
  const wanted = key(model);
  return eligibleModels.find((m) => key(m) === wanted);
}

export type MiuiVersion = { channel: 'stable' | 'dev'; parts: number[] };

/** Parses "8.0.6.0", "V10.2.3.0.PCACNXM", "MIUI 10.3.2.0" (stable) or "6.8.23" (dev); undefined otherwise. */
export function parseMiuiVersion(version: string): MiuiVersion | undefined {
  const match = /^(?:MIUI\s*)?V?([0-9]{1,4}(?:\.[0-9]{1,4}){2,3})(?:\.[A-Z]{4,12})?$/i.exec(version.trim());
  if (!match) return undefined;
  const parts = match[1]!.split('.').map(Number);
  return { channel: parts.length === 4 ? 'stable' : 'dev', parts };
}

/** Numeric, part-by-part comparison (so 10.0.0.0 > 8.0.6.0, which a string compare gets wrong). */
export function compareVersionParts(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function isMiuiVersionEligible(version: MiuiVersion): boolean {
  const minimum = version.channel === 'stable' ? minimumStableMiui : minimumDevMiui;
  return compareVersionParts(version.parts, minimum) >= 0;
}

/** Refuses a phone that cannot carry device cards, naming the field at fault; answers the canonical model name. */
export function requireEligibleDevice(input: { model: string; osVersion: string; nfc: boolean; secureElement: boolean }): string {
  const model = normalizeModel(input.model);
  if (!model) throw errors.device_not_eligible(`Mi Pay does not support the ${input.model}; supported: ${eligibleModels.join(', ')}.`, 'model');
  const version = parseMiuiVersion(input.osVersion);
  if (!version) throw errors.parameter_invalid('The OS version is not a MIUI version: stable like 8.0.6.0 or developer like 6.8.23.', 'os_version');
  if (!isMiuiVersionEligible(version)) {
    throw errors.device_not_eligible(`MIUI ${input.osVersion} is too old: stable ${minimumStableMiui.join('.')} or developer ${minimumDevMiui.join('.')} at least.`, 'os_version');
  }
  if (!input.nfc) throw errors.device_not_eligible('The phone needs NFC to pay by tapping.', 'nfc');
  if (!input.secureElement) throw errors.device_not_eligible('The phone needs a secure element to keep device cards.', 'secure_element');
  return model;
}
