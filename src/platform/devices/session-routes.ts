// The phone's own session (issue 12): the phone binds the session it logged in with, by a request
// signed with its device key, so that ending that session (its logout, the user ending it from
// the user center, or its expiry) deletes this phone's bank device cards, and no other does.
import { z } from 'zod';
import type { App } from '../../infra/http/server.ts';
import type { AccountService } from '../accounts/service.ts';
import { caller, requireSession } from '../auth.ts';
import { errors } from '../errors.ts';
import { deviceSchema, deviceToWire } from './routes.ts';
import type { DeviceService } from './service.ts';
import { keepRawBody, signedRequestOf } from './signed-request.ts';

const deviceSignatureHeaders = z.object({
  'mipay-device-signature': z.string().max(400).optional().describe(
    'Required. `t=<ISO 8601 time>,n=<nonce>,s=<signature>` by this device\'s key over the lines `mipay-device-request-v1`, the '
    + 'device id, the method, the path, t, n and the hex SHA-256 of the body, joined with \\n (src/protocols/crypto/device-request.ts).',
  ),
});

export function registerDeviceSessionRoutes(app: App, accounts: AccountService, devices: DeviceService): void {
  app.put('/v1/devices/:id/session', {
    preHandler: requireSession(accounts), preParsing: keepRawBody,
    schema: {
      security: [{ session: [] }], tags: ['devices'],
      summary: 'Make this session the phone\'s own: ending it deletes the phone\'s bank device cards',
      description: 'Called by the phone after it logs in again. Signed with the device key (header `Mipay-Device-Signature`), so '
        + 'a browser or API session cannot become the phone\'s. Ending the phone\'s own session (`DELETE /v1/sessions/current` from '
        + 'the phone, `DELETE /v1/sessions/{id}` from elsewhere, or its expiry) deletes the phone\'s bank device cards; transit and '
        + 'door cards stay. Ending any other session deletes no card.',
      params: z.object({ id: z.string().min(1).max(64).describe('The device (dev_…)') }),
      headers: deviceSignatureHeaders,
      errorParams: ['id', 'mipay-device-signature'],
      errors: [errors.not_found, errors.device_not_active, errors.device_signature_required, errors.device_signature_invalid,
        errors.device_signature_replayed],
      response: { 200: deviceSchema },
    },
  }, async (request) => {
    const { user, session } = caller(request);
    return deviceToWire(await devices.bindSession(user.id, request.params.id, session.id, signedRequestOf(request)));
  });
}
