// A terminal's authenticated session with the network: it signs on with its TMK for working keys,
// MACs every message it sends under the TAK, and believes only answers MACed under that key.
import assert from 'node:assert/strict';
import { ChannelError, readWorkingKeys, signOnMacKey, type NetworkClient, type WorkingKeys } from '../../network/client.ts';
import type { Iso8583Message } from '../../protocols/iso8583/codec.ts';
import { hasValidMessageMac, withMessageMac } from '../../protocols/iso8583/message-mac.ts';
import { NETWORK_MANAGEMENT_CODE } from '../../protocols/iso8583/spec.ts';
import { ResponseCode } from '../../protocols/iso8583/response-codes.ts';

export interface TerminalSessionOptions {
  terminalId: string;
  merchantId: string;
  /** TMK from the terminal's registration (the key ceremony). */
  terminalMasterKey: Buffer;
  network: NetworkClient;
  /** Field 11 of the sign-on: the terminal's own STAN sequence. */
  nextStan: () => string;
  /** Working keys older than this are rolled (0800, 101) before the next message; default 12 h, inside the network's 24 h. */
  keyRollMs?: number;
  clock?: () => Date;
}

/** Answers the network sends before it could check who is asking, and so cannot MAC. */
const unauthenticatedAnswers = new Set<string>([ResponseCode.INVALID_MERCHANT, ResponseCode.MAC_FAILURE]);

/**
 * Implements NetworkClient, so whatever sends ISO 8583 as a terminal (the POS, a test building
 * raw messages) goes through it. An A0 answer (the network refused the MAC: keys retired, expired
 * or never issued) makes it sign on again and send the message once more — the network logged
 * nothing for it — unless the message carries a PIN block encrypted under the old PIN key. An
 * answer without a valid MAC is refused with ChannelError('unauthenticated'): the caller must
 * treat it as no answer, and reverse.
 */
export class TerminalSession implements NetworkClient {
  readonly #o: TerminalSessionOptions;
  readonly #clock: () => Date;
  #keys: (WorkingKeys & { issuedAt: number }) | undefined;
  #signingOn: Promise<WorkingKeys> | undefined;

  constructor(options: TerminalSessionOptions) {
    assert.equal(options.terminalMasterKey.length, 16, 'the TMK is a double-length 3DES key');
    this.#o = options;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** The working keys, signing on first when there are none or they are due to roll. */
  async workingKeys(timeoutMs = 10_000): Promise<WorkingKeys> {
    const keys = this.#keys;
    if (keys && this.#clock().getTime() - keys.issuedAt < (this.#o.keyRollMs ?? 12 * 3_600_000)) return keys;
    return this.signOn(keys ? NETWORK_MANAGEMENT_CODE.KEY_CHANGE : NETWORK_MANAGEMENT_CODE.SIGN_ON, timeoutMs);
  }

  /** 0800 sign-on (001) or key change (101): new TPK and TAK under the TMK, each checked against its check value. */
  signOn(code: string = NETWORK_MANAGEMENT_CODE.SIGN_ON, timeoutMs = 10_000): Promise<WorkingKeys> {
    this.#signingOn ??= this.#signOn(code, timeoutMs).finally(() => {
      this.#signingOn = undefined;
    });
    return this.#signingOn;
  }

  async #signOn(code: string, timeoutMs: number): Promise<WorkingKeys> {
    const now = this.#clock().toISOString();
    const request: Iso8583Message = {
      mti: '0800',
      fields: {
        7: now.slice(5, 7) + now.slice(8, 10) + now.slice(11, 13) + now.slice(14, 16) + now.slice(17, 19), 11: this.#o.nextStan(),
        41: this.#o.terminalId, 42: this.#o.merchantId, 70: code,
      },
    };
    const answer = await this.#o.network.send(withMessageMac(signOnMacKey(this.#o.terminalMasterKey), request), timeoutMs);
    if (answer.fields[39] !== ResponseCode.APPROVED) throw new ChannelError('unauthenticated', `sign-on refused (${String(answer.fields[39])})`);
    const keys = readWorkingKeys(this.#o.terminalMasterKey, answer);
    if (!keys || !hasValidMessageMac(keys.terminalMacKey, answer)) throw new ChannelError('unauthenticated', 'the sign-on answer\'s keys or MAC do not verify');
    this.#keys = { ...keys, issuedAt: this.#clock().getTime() };
    return keys;
  }

  /** The message MACed under the current TAK, for a copy sent on another connection (undefined before a sign-on). */
  authenticated(request: Iso8583Message): Iso8583Message | undefined {
    return this.#keys ? withMessageMac(this.#keys.terminalMacKey, request) : undefined;
  }

  async send(request: Iso8583Message, timeoutMs: number): Promise<Iso8583Message> {
    let keys = await this.workingKeys(timeoutMs);
    let answer = await this.#o.network.send(withMessageMac(keys.terminalMacKey, request), timeoutMs);
    if (answer.fields[39] === ResponseCode.MAC_FAILURE && request.fields[52] === undefined) {
      keys = await this.signOn(NETWORK_MANAGEMENT_CODE.SIGN_ON, timeoutMs);
      answer = await this.#o.network.send(withMessageMac(keys.terminalMacKey, request), timeoutMs);
    }
    if (hasValidMessageMac(keys.terminalMacKey, answer)) return answer;
    const code = answer.fields[39];
    if (typeof code === 'string' && unauthenticatedAnswers.has(code) && answer.fields[64] === undefined && answer.fields[128] === undefined) {
      // The PIN key is as stale as the MAC key: the next message signs on first.
      if (code === ResponseCode.MAC_FAILURE) this.#keys = undefined;
      return answer;
    }
    throw new ChannelError('unauthenticated', `the network's ${answer.mti} has no valid MAC`);
  }

  close(): Promise<void> {
    return this.#o.network.close();
  }
}
