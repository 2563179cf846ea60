// The lab's server side (sandbox only): real virtual Mi phones (src/phone, each with its own
// encrypted state file) and a real POS (src/terminal) hosted by the platform process, driven by
// the web's /lab page through `/v1/sandbox/lab/...`. A tap here is what `mipay demo` does: the
// phone's payment applet answers the POS's APDUs, the POS sends ISO 8583 over TCP to the network,
// the network asks the TSP and the bank. Every APDU and ISO 8583 message is kept in the caller's
// trace (card numbers masked) for the page to poll while the tap runs.
//
// The phones speak to the platform over its HTTP API like any phone (they need the platform to
// listen), and belong to the Mi account that made them: another account's phone is a 404.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { App } from '../infra/http/server.ts';
import { createTcpNetworkClient, type NetworkClient } from '../network/client.ts';
import { PhoneError, PlatformError, PlatformUnreachableError } from '../phone/errors.ts';
import { MiPhone } from '../phone/phone.ts';
import { caller, requireSession } from '../platform/auth.ts';
import { errors } from '../platform/errors.ts';
import type { Iso8583Message } from '../protocols/iso8583/codec.ts';
import type { ContactlessCard } from '../protocols/contactless.ts';
import { CardReadError, formatReceipt, PosError, PosTerminal } from '../terminal/party.ts';
import type { Network } from '../network/party.ts';
import type { Platform } from '../platform/app.ts';

/** Lab phones per Mi account, and trace events kept per account (oldest dropped). */
const phonesPerUser = 3;
const traceKept = 400;
const deadPlatformUrl = 'http://127.0.0.1:1';

export interface TraceEvent {
  seq: number;
  at: string;
  kind: 'apdu' | 'iso8583' | 'note';
  /** `C` command / `R` response for APDUs; `→` to the network / `←` from it for ISO 8583. */
  direction: string;
  text: string;
  fields?: Record<string, string>;
}

interface LabPhone {
  id: string;
  phone: MiPhone;
  offline: boolean;
  history: { at: string; amount_fen: number; approved: boolean; response: string; card_last4: string; rrn: string | null }[];
}

interface LabUser {
  phones: Map<string, LabPhone>;
  trace: TraceEvent[];
  seq: number;
}

/** Masks every card-number-like digit run (13–19 digits, also inside BCD hex and track 2) to its first 6 and last 4. */
export function maskCardNumbers(text: string): string {
  return text.replace(/[0-9]{13,19}/g, (digits) => `${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}`);
}

function fieldText(field: number, value: string | Buffer): string {
  if (field === 52) return '(PIN block, encrypted)';
  if (field === 64 || field === 128) return '(MAC)';
  const text = typeof value === 'string' ? value : value.toString('hex').toUpperCase();
  return maskCardNumbers(text);
}

function describeMessage(message: Iso8583Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.fields)) {
    if (value !== undefined) out[key] = fieldText(Number(key), value);
  }
  return out;
}

export function registerLabRoutes(system: { platform: Platform; network: Network }, options: { clock?: () => Date } = {}): void {
  const app: App = system.platform.app;
  const clock = options.clock ?? (() => new Date());
  const users = new Map<string, LabUser>();
  let dir: string | undefined;
  let network: NetworkClient | undefined;
  let pos: Promise<PosTerminal> | undefined;
  const preHandler = requireSession(system.platform.accounts);
  const security = [{ session: [] }];
  const tags = ['sandbox'];

  const platformUrl = (): string => {
    const address = app.server.address();
    return address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : deadPlatformUrl;
  };
  const userOf = (userId: string): LabUser => {
    let user = users.get(userId);
    if (!user) users.set(userId, user = { phones: new Map(), trace: [], seq: 0 });
    return user;
  };
  const note = (user: LabUser, kind: TraceEvent['kind'], direction: string, text: string, fields?: Record<string, string>) => {
    user.trace.push({ seq: ++user.seq, at: clock().toISOString(), kind, direction, text, ...(fields ? { fields } : {}) });
    if (user.trace.length > traceKept) user.trace.splice(0, user.trace.length - traceKept);
  };
  const phoneOf = (userId: string, phoneId: string): LabPhone => {
    const phone = users.get(userId)?.phones.get(phoneId);
    if (!phone) throw errors.not_found(`No lab phone ${phoneId} for this account.`, 'phone_id');
    return phone;
  };
  /** The phone's and the platform's refusals, in the lab's words. */
  // `param` is named only when it is a field of this request (the phone's own names are mapped to the lab's).
  const phoneStep = async <T>(body: object, step: () => T | Promise<T>): Promise<T> => {
    const field = (param: string | undefined) => {
      const name = param === 'deviceCardId' ? 'device_card_id' : param;
      return name !== undefined && name in body ? name : undefined;
    };
    try {
      return await step();
    } catch (error) {
      if (error instanceof PhoneError) throw errors.lab_phone_refused(error.message, field(error.param));
      if (error instanceof PlatformError) throw errors.lab_phone_refused(`The platform refused the phone (${error.code}): ${error.message}`, field(error.param));
      // The lab's phones reach the platform over HTTP, as real ones do: a platform not listening is the phone's failure to connect.
      if (error instanceof PlatformUnreachableError) throw errors.lab_phone_refused(`The phone cannot reach the platform: ${error.message}`);
      throw error;
    }
  };
  const terminal = (): Promise<PosTerminal> => {
    pos ??= (async () => {
      const address = system.network.server.address();
      if (!address) throw errors.service_unavailable('The network\'s terminal port is not listening.');
      network = createTcpNetworkClient({ host: address.host, port: address.port });
      const registered = await system.network.registerTerminal({ terminalId: 'MILAB001', merchantId: '898110058120077', merchantName: 'MI PAY LAB', mcc: '5732' });
      return new PosTerminal({ ...registered, network: tracingNetwork(network), clock });
    })();
    pos.catch(() => (pos = undefined));
    return pos;
  };
  let tracing: LabUser | undefined;
  let queue: Promise<void> = Promise.resolve();
  const tracingNetwork = (inner: NetworkClient): NetworkClient => ({
    async send(request, timeoutMs) {
      if (tracing) note(tracing, 'iso8583', '→', `MTI ${request.mti}`, describeMessage(request));
      const answer = await inner.send(request, timeoutMs);
      if (tracing) note(tracing, 'iso8583', '←', `MTI ${answer.mti}`, describeMessage(answer));
      return answer;
    },
    close: () => inner.close(),
  });
  app.addHook('onClose', async () => {
    await network?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const phoneView = (lab: LabPhone) => {
    const state = lab.phone.state;
    return {
      id: lab.id,
      device_id: state.deviceId,
      model: state.device.model,
      offline: lab.offline,
      armed_until: state.pay.armedUntil,
      armed_seconds_left: state.pay.armedUntil ? Math.max(0, Math.floor((new Date(state.pay.armedUntil).getTime() - clock().getTime()) / 1000)) : 0,
      cards: lab.phone.cards().map((c) => ({
        id: c.id, bank_name: c.bankName, card_kind: c.cardKind, token_last4: c.tokenLast4, status: c.status, keys_left: c.keysLeft, armed: c.armed,
      })),
      pending_card: state.pendingCard ? { bank_name: state.pendingCard.bankName, phone_masked: state.pendingCard.phoneMasked } : null,
      history: lab.history,
    };
  };
  const phoneSchema = z.object({
    id: z.string().describe('The lab phone\'s id (for the lab routes)'),
    device_id: z.string().nullable().describe('The device id the platform gave the phone when it logged in'),
    model: z.string().describe('The phone model it reports'),
    offline: z.boolean().describe('Whether the phone\'s network is switched off (paying needs none)'),
    armed_until: z.string().nullable().describe('Until when a fingerprint armed the phone for a tap'),
    armed_seconds_left: z.number().describe('Seconds left to tap, by the phone\'s clock (0: not armed)'),
    cards: z.array(z.object({
      id: z.string().describe('Device card id'), bank_name: z.string().describe('Issuing bank'), card_kind: z.string().describe('debit or credit'),
      token_last4: z.string().describe('Last 4 digits of the device card number (a token)'), status: z.string().describe('Status as the phone last synced it'),
      keys_left: z.number().describe('Limited-use keys left for offline taps'), armed: z.boolean().describe('Whether this card is armed for the next tap'),
    })).describe('The device cards in the phone\'s secure element'),
    pending_card: z.object({ bank_name: z.string().describe('Bank of the card being added'), phone_masked: z.string().describe('Where the bank texted the code') })
      .nullable().describe('A card being added, waiting for the bank\'s SMS code'),
    history: z.array(z.object({
      at: z.string().describe('When the tap was made'), amount_fen: z.number().describe('Amount in fen'), approved: z.boolean().describe('Whether it was approved'),
      response: z.string().describe('The response code and text'), card_last4: z.string().describe('The card the POS read (the device card\'s last 4)'),
      rrn: z.string().nullable().describe('Retrieval reference number'),
    })).describe('Taps this phone made in the lab, newest last'),
  });
  const params = z.object({ id: z.string().min(1).max(64).describe('The lab phone\'s id') });

  app.get('/v1/sandbox/lab/phones', {
    preHandler,
    schema: { security, tags, summary: 'The caller\'s lab phones', description: 'Sandbox only: the virtual phones this Mi account made in the lab.',
      errors: [], response: { 200: z.object({ data: z.array(phoneSchema) }) } },
  }, async (request) => ({ data: [...userOf(caller(request).user.id).phones.values()].map(phoneView) }));

  app.post('/v1/sandbox/lab/phones', {
    preHandler,
    schema: {
      security, tags, summary: 'Make a lab phone and log it in to the caller\'s Mi account',
      description: 'Sandbox only: a new virtual Mi phone (its own device key and encrypted state file) logs in with the account\'s '
        + 'phone number and this password and registers itself, as the wallet app does. At most 3 per account.',
      errors: [errors.lab_phone_refused, errors.rate_limited],
      body: z.object({ password: z.string().min(1).max(128).describe('The Mi account password the phone logs in with') }),
      response: { 201: phoneSchema },
    },
  }, async (request, reply) => {
    const { user } = caller(request);
    const lab = userOf(user.id);
    if (lab.phones.size >= phonesPerUser) throw errors.rate_limited(`A Mi account has at most ${phonesPerUser} lab phones.`, undefined, { retry_after_s: 3600 });
    dir ??= mkdtempSync(join(tmpdir(), 'mipay-lab-'));
    const id = `labph_${lab.phones.size + 1}_${Date.now().toString(36)}`;
    const phone = await MiPhone.create({
      path: join(dir, `${id}.se`), passphrase: `lab ${id}`, platformUrl: platformUrl(), passcode: '246810', enrolledFinger: 'right-thumb',
      clock, kdfCost: { n: 2 ** 12, r: 8, p: 1 },
    });
    await phoneStep(request.body, () => phone.logIn({ accountPhone: user.phone, password: request.body.password }));
    const entry: LabPhone = { id, phone, offline: false, history: [] };
    lab.phones.set(id, entry);
    note(lab, 'note', '', `phone ${id} logged in as device ${phone.state.deviceId}`);
    void reply.status(201);
    return phoneView(entry);
  });

  app.post('/v1/sandbox/lab/phones/:id/card-applications', {
    preHandler,
    schema: {
      security, tags, params, errorParams: ['phone_id'], summary: 'Start adding a bound bank card to a lab phone (fingerprint, then the bank texts a code)',
      description: 'Sandbox only: the phone proves the fingerprint with its device key and asks the platform to add the card; the '
        + 'bank texts a code to the card\'s reserved phone, which `POST …/cards` confirms.',
      errors: [errors.not_found, errors.lab_phone_refused],
      body: z.object({
        card: z.string().min(1).max(64).describe('The bound card: its id or last 4 digits'),
        finger: z.string().min(1).max(32).describe('The finger on the sensor (the lab phone enrolls `right-thumb`)'),
      }),
      response: { 200: phoneSchema },
    },
  }, async (request) => {
    const lab = phoneOf(caller(request).user.id, request.params.id);
    await phoneStep(request.body, () => lab.phone.applyForCard(request.body));
    return phoneView(lab);
  });

  app.post('/v1/sandbox/lab/phones/:id/cards', {
    preHandler,
    schema: {
      security, tags, params, errorParams: ['phone_id'], summary: 'Finish adding a card: the bank\'s SMS code; the phone stores the device card and its keys',
      description: 'Sandbox only: the code the bank texted (read it at GET /v1/sandbox/sms).',
      errors: [errors.not_found, errors.lab_phone_refused],
      body: z.object({ sms_code: z.string().min(1).max(16).describe('The code the bank texted to the card\'s reserved phone') }),
      response: { 200: phoneSchema },
    },
  }, async (request) => {
    const lab = phoneOf(caller(request).user.id, request.params.id);
    await phoneStep(request.body, () => lab.phone.confirmCard({ smsCode: request.body.sms_code }));
    return phoneView(lab);
  });

  app.post('/v1/sandbox/lab/phones/:id/arm', {
    preHandler,
    schema: {
      security, tags, params, errorParams: ['phone_id'], summary: 'Pick a card and press the fingerprint: the phone is armed for one tap within 60 s',
      description: 'Sandbox only, and offline: no platform call.',
      errors: [errors.not_found, errors.lab_phone_refused],
      body: z.object({
        device_card_id: z.string().min(1).max(64).describe('The device card to pay with'),
        finger: z.string().min(1).max(32).describe('The finger on the sensor'),
      }),
      response: { 200: phoneSchema },
    },
  }, async (request) => {
    const lab = phoneOf(caller(request).user.id, request.params.id);
    await phoneStep(request.body, () => lab.phone.pay({ deviceCardId: request.body.device_card_id, finger: request.body.finger }));
    return phoneView(lab);
  });

  app.put('/v1/sandbox/lab/phones/:id/network', {
    preHandler,
    schema: {
      security, tags, params, errorParams: ['phone_id'], summary: 'Switch the lab phone\'s network off or on', description: 'Sandbox only: an offline phone still pays; it cannot sync.',
      errors: [errors.not_found],
      body: z.object({ offline: z.boolean().describe('true: no network') }), response: { 200: phoneSchema },
    },
  }, async (request) => {
    const lab = phoneOf(caller(request).user.id, request.params.id);
    lab.offline = request.body.offline;
    lab.phone.mutableState.platformUrl = lab.offline ? deadPlatformUrl : platformUrl();
    lab.phone.save();
    return phoneView(lab);
  });

  app.post('/v1/sandbox/lab/phones/:id/sync', {
    preHandler,
    schema: {
      security, tags, params, errorParams: ['phone_id'], summary: 'Sync the lab phone with the platform: card statuses and new limited-use keys',
      description: 'Sandbox only; refused while the phone is offline.', errors: [errors.not_found, errors.lab_phone_refused], response: { 200: phoneSchema },
    },
  }, async (request) => {
    const lab = phoneOf(caller(request).user.id, request.params.id);
    await phoneStep({}, () => lab.phone.sync());
    return phoneView(lab);
  });

  app.post('/v1/sandbox/lab/pos/charges', {
    preHandler,
    schema: {
      security, tags, summary: 'Tap a lab phone on the lab POS: a purchase over EMV APDUs and ISO 8583 to the network and the bank',
      description: 'Sandbox only. The phone must be armed (fingerprint) for the tap. Every APDU and ISO 8583 message joins the caller\'s '
        + 'trace (GET /v1/sandbox/lab/trace) as it happens, card numbers masked. When the card asks for an online PIN and none was '
        + 'given, the answer is `lab_terminal_refused` with param `pin`: ask the cardholder and tap again.',
      errors: [errors.not_found, errors.lab_terminal_refused, errors.service_unavailable],
      body: z.object({
        phone_id: z.string().min(1).max(64).describe('The lab phone held to the reader'),
        amount_fen: z.number().int().min(1).max(100_000_000).describe('The amount in fen'),
        pin: z.string().regex(/^[0-9]{4,12}$/).optional().describe('The PIN, when the POS asked for it'),
      }),
      response: {
        200: z.object({
          approved: z.boolean().describe('Whether the issuer approved'),
          response_code: z.string().describe('ISO 8583 field 39'),
          response_text: z.string().describe('What field 39 means'),
          card_last4: z.string().describe('The last 4 digits the POS read'),
          cvm: z.string().describe('How the cardholder was verified: cdcvm (fingerprint), online_pin or none'),
          rrn: z.string().nullable().describe('Retrieval reference number'),
          receipt: z.string().describe('The printed receipt'),
        }),
      },
    },
  }, async (request) => {
    const userId = caller(request).user.id;
    const lab = phoneOf(userId, request.body.phone_id);
    const user = userOf(userId);
    const applet = lab.phone.paymentApplet();
    const card: ContactlessCard = {
      async transmit(command) {
        note(user, 'apdu', 'C', maskCardNumbers(command.toString('hex').toUpperCase()));
        const response = await applet.transmit(command);
        note(user, 'apdu', 'R', maskCardNumbers(response.toString('hex').toUpperCase()));
        return response;
      },
    };
    const till = await terminal();
    // One tap at a time on the lab's POS (as at a real till): the trace of each tap stays whole.
    const previous = queue;
    let release!: () => void;
    queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    note(user, 'note', '', `tap: ${lab.id} on MILAB001, ¥${(request.body.amount_fen / 100).toFixed(2)}`);
    tracing = user;
    try {
      const pin = request.body.pin;
      const receipt = await till.charge({
        amountFen: BigInt(request.body.amount_fen), card,
        ...(pin ? { pinPad: { enterPin: async () => pin } } : {}),
      });
      lab.history.push({
        at: receipt.at.toISOString(), amount_fen: request.body.amount_fen, approved: receipt.approved, response: `${receipt.responseCode} ${receipt.responseText}`,
        card_last4: receipt.cardLast4, rrn: receipt.rrn ?? null,
      });
      note(user, 'note', '', `${receipt.approved ? 'approved' : 'declined'}: ${receipt.responseCode} ${receipt.responseText}`);
      return {
        approved: receipt.approved, response_code: receipt.responseCode, response_text: receipt.responseText, card_last4: receipt.cardLast4,
        cvm: receipt.cvm, rrn: receipt.rrn ?? null, receipt: formatReceipt(receipt),
      };
    } catch (error) {
      if (error instanceof PosError) throw errors.lab_terminal_refused(error.message, error.code === 'pin_required' || error.code === 'pin_format' ? 'pin' : 'amount_fen');
      if (error instanceof CardReadError) throw errors.lab_terminal_refused(`The phone did not answer the reader: ${error.message}`, 'phone_id');
      throw error;
    } finally {
      tracing = undefined;
      release();
    }
  });

  app.get('/v1/sandbox/lab/trace', {
    preHandler,
    schema: {
      security, tags, summary: 'The caller\'s lab trace: APDUs and ISO 8583 messages (card numbers masked), after a sequence number',
      description: 'Sandbox only. Poll with `after` set to the last `seq` seen; the newest 400 events are kept.',
      errors: [],
      querystring: z.object({ after: z.coerce.number().int().min(0).default(0).describe('Only events with a larger `seq`') }),
      response: {
        200: z.object({
          data: z.array(z.object({
            seq: z.number().describe('Sequence number'), at: z.string().describe('When'), kind: z.enum(['apdu', 'iso8583', 'note']).describe('What kind of event'),
            direction: z.string().describe('C/R for a command/response APDU, →/← to/from the network'), text: z.string().describe('The APDU in hex or the MTI'),
            fields: z.record(z.string(), z.string()).optional().describe('The ISO 8583 fields by number (PAN masked, PIN block and MAC withheld)'),
          })),
        }),
      },
    },
  }, async (request) => ({ data: userOf(caller(request).user.id).trace.filter((e) => e.seq > request.query.after) }));
}
