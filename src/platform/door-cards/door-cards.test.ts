import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, signUpAndLogIn, startTestSystem, type TestSystem } from '../../cli/test-system.ts';
import { doorCardBackupsMax } from './service.ts';

describe('door card backups', () => {
  let system: TestSystem;
  let api: ReturnType<typeof apiClient>;
  before(async () => {
    system = await startTestSystem();
    api = apiClient(system.platform.app);
  });
  after(() => system.close());

  const body = (n: number, overrides: Record<string, unknown> = {}) => ({
    card_ref: `door_${n.toString(16).padStart(12, '0')}`,
    name: `Door ${n}`,
    uid_masked: 'CD:**:**:F2',
    card_type: 'mifare_classic_1k',
    ...overrides,
  });

  test('back up name and masked UID, list, back up again to rename, delete; other accounts see nothing', async () => {
    const { token } = await signUpAndLogIn(system);
    const made = await api('POST', '/v1/door-cards', {
      token,
      body: body(1, { uid_masked: '04:**:**:**:**:**:80', card_type: 'mifare_classic_4k' }),
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.match(made.body.id, /^dcb_/);
    const renamed = await api('POST', '/v1/door-cards', {
      token,
      body: body(1, { name: '公司', uid_masked: '04:**:**:**:**:**:80', card_type: 'mifare_classic_4k' }),
    });
    assert.deepEqual([renamed.status, renamed.body.id, renamed.body.name], [201, made.body.id, '公司']);
    const listed = await api('GET', '/v1/door-cards', { token });
    assert.deepEqual(
      listed.body.data.map((b: { name: string; uid_masked: string }) => [b.name, b.uid_masked]),
      [['公司', '04:**:**:**:**:**:80']],
    );

    const other = await signUpAndLogIn(system);
    assert.deepEqual((await api('GET', '/v1/door-cards', { token: other.token })).body.data, []);
    assert.equal(
      (await api('DELETE', `/v1/door-cards/${made.body.id}`, { token: other.token })).body.error.code,
      'not_found',
    );
    assert.equal((await api('DELETE', `/v1/door-cards/${made.body.id}`, { token })).status, 200);
    assert.deepEqual((await api('GET', '/v1/door-cards', { token })).body.data, []);
    assert.equal((await api('GET', '/v1/door-cards')).status, 401);
  });

  test('a full UID, a malformed mask or a type other than MIFARE Classic is refused naming the field', async () => {
    const { token } = await signUpAndLogIn(system);
    for (const [override, param] of [
      [{ uid_masked: 'CD3DEFF2' }, 'uid_masked'],
      [{ uid_masked: 'CD:3D:EF:F2' }, 'uid_masked'],
      [{ uid_masked: 'CD:**:**:**:F2' }, 'uid_masked'],
      [{ card_type: 'desfire' }, 'card_type'],
      [{ card_ref: 'door_1' }, 'card_ref'],
      [{ name: '' }, 'name'],
    ] as const) {
      const refused = await api('POST', '/v1/door-cards', { token, body: body(2, override) });
      assert.deepEqual(
        [refused.status, refused.body.error.code, refused.body.error.param],
        [400, 'parameter_invalid', param],
        JSON.stringify(override),
      );
    }
    assert.deepEqual((await api('GET', '/v1/door-cards', { token })).body.data, []);
  });

  test(`at most ${doorCardBackupsMax} backups per account, also when they arrive at once`, async () => {
    const { token } = await signUpAndLogIn(system);
    const answers = await Promise.all(
      Array.from({ length: doorCardBackupsMax + 5 }, (_, i) =>
        api('POST', '/v1/door-cards', { token, body: body(100 + i) }),
      ),
    );
    assert.equal(answers.filter((a) => a.status === 201).length, doorCardBackupsMax);
    assert.ok(answers.filter((a) => a.status !== 201).every((a) => a.body.error.code === 'door_card_backups_limit'));
    assert.equal((await api('GET', '/v1/door-cards', { token })).body.data.length, doorCardBackupsMax);
  });
});
