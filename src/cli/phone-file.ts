// The virtual phone's state file as the `mipay phone`, `pos` and `transit` commands open it (its own file so that
// those commands and phone-command.ts, which registers some of them, do not import each other).
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { MiPhone } from '../phone/party.ts';
import { dataDir } from './config.ts';

export interface PhoneFileOptions {
  phone?: string;
  passphrase?: string;
  platformUrl?: string;
}

/** The state file: `--phone`, default `phone.se.json` in the data folder. */
export function phoneStatePath(options: PhoneFileOptions): string {
  return options.phone ?? join(dataDir(), 'phone.se.json');
}

export function passphraseOf(options: PhoneFileOptions): string {
  const passphrase = options.passphrase ?? process.env.MIPAY_PHONE_PASSPHRASE;
  if (!passphrase)
    throw new InvalidArgumentError("the phone's passphrase is needed: --passphrase <text> or MIPAY_PHONE_PASSPHRASE");
  return passphrase;
}

/** Opens the phone of `--phone` with its passphrase; `--platform-url`, when given, is kept as the phone's platform. */
export async function openPhone(options: PhoneFileOptions): Promise<MiPhone> {
  const phone = await MiPhone.open(phoneStatePath(options), passphraseOf(options));
  if (options.platformUrl && options.platformUrl !== phone.state.platformUrl) {
    phone.mutableState.platformUrl = options.platformUrl;
    phone.save();
  }
  return phone;
}
