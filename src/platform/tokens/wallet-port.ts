import type { DeviceCardTransactionNotice, WalletServerPort } from '../../network/client.ts';
import type { TokenService } from './service.ts';

/**
 * The wallet server's side of `WalletServerPort` (src/network/client.ts): what UnionPay's TSP
 * tells the platform. A status change (a bank reported the card lost, found, replaced, closed)
 * moves the device card, recorded with the bank as actor; the phone learns it at its next sync.
 * A transaction notice goes to `onDeviceCardTransaction` (the wallet's history, wired at merge);
 * without one it is taken and dropped. A throw makes the TSP retry the notice later.
 */
export class PlatformWalletPort implements WalletServerPort {
  readonly #tokens: TokenService;
  onDeviceCardTransaction: ((notice: DeviceCardTransactionNotice) => Promise<void>) | undefined;

  constructor(tokens: TokenService, options: { onDeviceCardTransaction?: (notice: DeviceCardTransactionNotice) => Promise<void> } = {}) {
    this.#tokens = tokens;
    this.onDeviceCardTransaction = options.onDeviceCardTransaction;
  }

  async deviceCardStatusChanged(event: Parameters<WalletServerPort['deviceCardStatusChanged']>[0]): Promise<void> {
    if (!['active', 'suspended', 'deleted'].includes(event.status)) throw new Error(`unknown device card status ${String(event.status)}`);
    await this.#tokens.applyTokenStatus(event);
  }

  async deviceCardTransaction(notice: DeviceCardTransactionNotice): Promise<void> {
    await this.onDeviceCardTransaction?.(notice);
  }
}
