import type { Kysely } from 'kysely';
import type { Logger } from '../../infra/log/logger.ts';
import { PeriodicJob } from '../../infra/periodic-job.ts';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import type { SmsCodes } from '../accounts/sms-codes.ts';
import type { CardService } from '../cards/service.ts';
import type { DeviceService } from '../devices/service.ts';
import type { PersonalDataVault } from '../payment-account/personal-data.ts';
import type { PaymentAccountService } from '../payment-account/service.ts';
import type { WalletPayments } from '../payments/wallet.ts';
import type { PlatformTables } from '../tables.ts';
import { ConsentService } from './consents.ts';
import { Deregistration } from './deregistration.ts';
import { DataExports } from './exports.ts';
import { ProfileCorrections } from './profile.ts';
import { PrivacyRequests } from './requests.ts';
import { registerPrivacyRoutes } from './routes.ts';
import { platformSections, PrivacySections } from './sections.ts';
import { registerSelfServiceRoutes } from './self-service-routes.ts';
import { PrivacyStatistics } from './statistics.ts';
import type { PrivacyDb } from './tables.ts';

/** The privacy domain's services; other domains plug in through `sections` and `deregistration.addCheck`. */
export interface Privacy {
  consents: ConsentService;
  requests: PrivacyRequests;
  sections: PrivacySections;
  /** The export job; `mipay up` starts it, tests call `exports.runOnce()`. */
  exports: DataExports;
  profile: ProfileCorrections;
  deregistration: Deregistration;
  /** Aggregate statistics with no user identifier (daily table, /metrics gauges). */
  statistics: PrivacyStatistics;
  start(): void;
  stop(): Promise<void>;
}

/** Wires the privacy domain into the platform (called once from app.ts). */
export function createPrivacy(app: App, deps: {
  db: Kysely<PlatformTables>; accounts: AccountService; codes: SmsCodes; personalData: PersonalDataVault; paymentAccounts: PaymentAccountService;
  cards: CardService; devices: DeviceService; wallet: WalletPayments; clock: () => Date; logger: Logger;
}): Privacy {
  const db = deps.db as unknown as Kysely<PrivacyDb>;
  const consents = new ConsentService(db, deps.clock);
  const requests = new PrivacyRequests(db, deps.clock);
  const sections = new PrivacySections();
  for (const section of platformSections(db, deps.personalData)) sections.register(section);
  const exports = new DataExports({ db, sections, requests, codes: deps.codes, clock: deps.clock });
  const profile = new ProfileCorrections(db, deps.codes, deps.clock);
  const deregistration = new Deregistration({
    db, sections, requests, clock: deps.clock,
    ports: {
      async balanceFen(userId) {
        return deps.wallet.balance(userId);
      },
      async activeCardIds(userId) {
        return (await deps.cards.list(userId)).filter((c) => c.status === 'active').map((c) => c.id);
      },
      async unbindCard(userId, cardId) {
        await deps.cards.unbind(userId, cardId);
      },
      async deleteDeviceCards(userId) {
        await deps.devices.deleteAllBankDeviceCards(userId);
      },
      async endSessions(userId) {
        await db.updateTable('sessions').set({ revoked_at: deps.clock() }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
      },
    },
  });
  deps.accounts.onSignUp(async (trx, user, extras) => {
    await consents.recordSignUp(trx as unknown as Kysely<PrivacyDb>, user.id, extras.acceptedPolicyVersion);
    if (extras.birthDate) {
      await (trx as unknown as Kysely<PrivacyDb>).insertInto('user_birth_dates').values({ user_id: user.id, birth_date: extras.birthDate, declared_at: deps.clock() }).execute();
    }
  });
  deps.accounts.onLogIn((user, input) => consents.checkAtLogin(user.id, input.acceptPolicyVersion));
  registerPrivacyRoutes(app, { accounts: deps.accounts, codes: deps.codes, consents, requests, exports, profile, deregistration });
  registerSelfServiceRoutes(app, { db: deps.db, accounts: deps.accounts, paymentAccounts: deps.paymentAccounts, clock: deps.clock });
  const exportJob = new PeriodicJob('privacy-exports', () => exports.runOnce(), deps.logger.child({ component: 'privacy' }));
  const statistics = new PrivacyStatistics(db, deps.clock);
  statistics.registerMetrics(app.metricsRegistry);
  const statisticsJob = new PeriodicJob('privacy-daily-aggregates', () => statistics.runOnce(), deps.logger.child({ component: 'privacy' }));
  return {
    consents, requests, sections, exports, profile, deregistration, statistics,
    start() {
      exportJob.start(10_000);
      statisticsJob.start(3_600_000);
    },
    async stop() {
      await exportJob.stop();
      await statisticsJob.stop();
    },
  };
}
