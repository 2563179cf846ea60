import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { Logger } from '../../infra/log/logger.ts';
import type { Keyring } from '../../infra/keys/keyring.ts';
import type { Iso8583Server } from '../../infra/net/iso8583-channel.ts';
import { bankErrors } from '../http.ts';
import { IssuerAuthorizer } from './authorizer.ts';
import type { CardVerificationKeys } from './card-verification.ts';
import { createBankIsoEndpoint, SandboxFaults } from './endpoint.ts';
import { IssuerKeyStore } from './issuer-keys.ts';
import { CardPersonalizer } from './personalization.ts';
import type { AuthorizationTables } from './tables.ts';

export interface BankAuthorization {
  authorizer: IssuerAuthorizer;
  personalizer: CardPersonalizer;
  faults: SandboxFaults;
  /** The ISO 8583 TCP endpoint; call `listen` to open it. */
  endpoint: Iso8583Server;
  /** The zone PIN key shared with the network for a bank (the sandbox's stand-in for a key ceremony). */
  zonePinKey(bankCode: string): Promise<Buffer>;
  /** Sandbox HTTP routes: personalise a card (chip data for an emulated card) and set its PIN. */
  registerSandboxRoutes(app: App): void;
}

export interface BankAuthorizationOptions {
  db: Kysely<any>;
  /** Where the banks' IMK-AC, ZPK and PVK come from (`bank.<code>.imk-ac` …), never the database. */
  keyring: Pick<Keyring, 'key'>;
  logger: Logger;
  /** Each bank's zone MAC key with the network (the keyring's `zone.<bank>.mak`), by bank code. */
  zoneMacKeys: ReadonlyMap<string, Buffer>;
  /** Each bank's card verification key (the keyring's `bank.<bank>.cvk`), by bank code: checks keyed-in CVN2s. */
  cardVerificationKeys: CardVerificationKeys;
  clock?: () => Date;
}

export function createBankAuthorization(options: BankAuthorizationOptions): BankAuthorization {
  const db = options.db as Kysely<AuthorizationTables>;
  const keys = new IssuerKeyStore(options.keyring);
  const authorizer = new IssuerAuthorizer({
    db, keys, cardVerificationKeys: options.cardVerificationKeys, logger: options.logger, ...(options.clock ? { clock: options.clock } : {}),
  });
  const personalizer = new CardPersonalizer(db, keys);
  const faults = new SandboxFaults();
  return {
    authorizer, personalizer, faults,
    endpoint: createBankIsoEndpoint({ authorizer, logger: options.logger, zoneMacKeys: options.zoneMacKeys, faults }),
    zonePinKey: async (bankCode) => (await keys.keysFor(bankCode)).zonePinKey,
    registerSandboxRoutes(app) {
      app.post('/v1/sandbox/cards/personalization', {
        schema: {
          tags: ['sandbox'], summary: 'The chip data of a test card (keys included) so a contactless card can be emulated; optionally sets its PIN',
          description: 'Sandbox only. What a card personalisation bureau writes into the chip: PAN, sequence number, expiry, '
            + 'the card master key for cryptograms (SM4 or 3DES) and the ATC.',
          errors: [bankErrors.card_not_found],
          body: z.object({
            card_number: z.string().regex(/^[0-9]{13,19}$/, '13 to 19 digits'),
            pin: z.string().regex(/^[0-9]{4,12}$/, '4 to 12 digits').optional(),
            online_pin_always: z.boolean().default(false),
          }),
        },
      }, async (request) => {
        const p = await personalizer.personalize(request.body.card_number, {
          ...(request.body.pin ? { pin: request.body.pin } : {}), onlinePinAlways: request.body.online_pin_always,
        });
        return {
          pan: p.pan, pan_sequence: p.panSequence, expiry: p.expiryYymm, holder_name: p.holderName, ac_algorithm: p.acAlgorithm,
          cryptogram_version: p.cryptogramVersion, card_master_key_ac: p.cardMasterKeyAcHex, atc: p.atc, online_pin_always: p.onlinePinAlways,
        };
      });
    },
  };
}
