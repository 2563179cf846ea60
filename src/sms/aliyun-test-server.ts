/**
 * Test support: a local HTTP server speaking Alibaba Cloud SMS's documented API shape (RPC
 * action SendSms, version 2017-05-25, V3 request signature ACS3-HMAC-SHA256), since the real
 * service is out of reach here. It checks the signature against the one access key it knows,
 * refuses unknown signatures and templates with the service's error codes, and keeps what it
 * accepted.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface AliyunAccepted {
  phone: string;
  signName: string;
  templateCode: string;
  params: Record<string, string>;
}

export interface FakeAliyunSms {
  url: string;
  accessKeyId: string;
  accessKeySecret: string;
  accepted: AliyunAccepted[];
  close(): Promise<void>;
}

/** RFC 3986 encoding as the V3 signature wants it (space %20, `*` %2A, `~` kept). */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function expectedSignature(request: IncomingMessage, body: Buffer, secret: string, signedHeaders: string[]): string {
  const url = new URL(request.url ?? '/', 'http://x');
  const query = [...url.searchParams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
  const headers = signedHeaders.map((name) => `${name}:${String(request.headers[name] ?? '').trim()}\n`).join('');
  const canonical = [request.method, url.pathname, query, headers, signedHeaders.join(';'), createHash('sha256').update(body).digest('hex')].join('\n');
  return createHmac('sha256', secret).update(`ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`).digest('hex');
}

export async function startFakeAliyunSms(options: { signNames: string[]; templateCodes: string[]; delayMs?: number }): Promise<FakeAliyunSms> {
  const accessKeyId = `LTAI${randomBytes(8).toString('hex')}`;
  const accessKeySecret = randomBytes(15).toString('base64url');
  const accepted: AliyunAccepted[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const answer = (status: number, body: Record<string, string>) => {
        const reply = () => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ RequestId: randomBytes(8).toString('hex'), ...body }));
        };
        if (options.delayMs) setTimeout(reply, options.delayMs);
        else reply();
      };
      const auth = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(String(request.headers.authorization ?? ''));
      if (!auth) return answer(400, { Code: 'MissingAuthorization', Message: 'Authorization is mandatory for this action.' });
      if (auth[1] !== accessKeyId) return answer(404, { Code: 'InvalidAccessKeyId.NotFound', Message: 'Specified access key is not found.' });
      const signed = auth[2]!.split(';');
      const given = Buffer.from(auth[3]!, 'hex');
      const expected = Buffer.from(expectedSignature(request, Buffer.concat(chunks), accessKeySecret, signed), 'hex');
      if (!signed.includes('host') || !signed.includes('x-acs-date') || !timingSafeEqual(given, expected)) {
        return answer(400, { Code: 'IncompleteSignature', Message: 'The request signature does not conform to Aliyun standards.' });
      }
      if (request.headers['x-acs-action'] !== 'SendSms' || request.headers['x-acs-version'] !== '2017-05-25') {
        return answer(404, { Code: 'InvalidAction.NotFound', Message: 'Specified api is not found.' });
      }
      const query = new URL(request.url ?? '/', 'http://x').searchParams;
      const phone = query.get('PhoneNumbers') ?? '';
      const signName = query.get('SignName') ?? '';
      const templateCode = query.get('TemplateCode') ?? '';
      if (!/^1[3-9][0-9]{9}$/.test(phone)) return answer(200, { Code: 'isv.MOBILE_NUMBER_ILLEGAL', Message: '非法手机号' });
      if (!options.signNames.includes(signName)) return answer(200, { Code: 'isv.SMS_SIGNATURE_ILLEGAL', Message: '签名不合法' });
      if (!options.templateCodes.includes(templateCode)) return answer(200, { Code: 'isv.SMS_TEMPLATE_ILLEGAL', Message: '模板不合法' });
      let params: Record<string, string>;
      try {
        params = JSON.parse(query.get('TemplateParam') ?? '{}') as Record<string, string>;
      } catch {
        return answer(200, { Code: 'isv.INVALID_JSON_PARAM', Message: 'JSON参数不合法' });
      }
      accepted.push({ phone, signName, templateCode, params });
      return answer(200, { Code: 'OK', Message: 'OK', BizId: `${Date.now()}^0` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`, accessKeyId, accessKeySecret, accepted,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
