import { ChannelError, type BankIso8583Client } from '../bank/client.ts';
import { hasValidMessageMac, withMessageMac } from '../protocols/iso8583/message-mac.ts';

/**
 * The network ↔ issuer link authenticated with the issuer's zone MAC key (ZAK, from the key
 * ceremony both sides read from the keyring: `zone.<bank>.mak`): every request leaves with its
 * MAC in field 64/128 and an answer whose MAC does not verify is treated like no answer at all
 * — the switch answers the terminal 91 and reverses, since the issuer may have moved money.
 */
export function zoneAuthenticatedLink(client: BankIso8583Client, zoneMacKey: Buffer): BankIso8583Client {
  return {
    async send(request, timeoutMs) {
      const answer = await client.send(withMessageMac(zoneMacKey, request), timeoutMs);
      if (!hasValidMessageMac(zoneMacKey, answer)) {
        throw new ChannelError('unauthenticated', `the issuer's ${answer.mti} (field 39 ${String(answer.fields[39])}) has no valid zone MAC`);
      }
      return answer;
    },
    close: () => client.close(),
  };
}
