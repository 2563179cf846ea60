import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ageInYears, parseResidentId, residentIdCheckCharacter } from './resident-id.ts';

test('GB 11643-1999 check character: the standard example 11010519491231002X', () => {
  assert.equal(residentIdCheckCharacter('11010519491231002'), 'X');
  const parsed = parseResidentId('11010519491231002x');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.id, { number: '11010519491231002X', regionCode: '110105', birthDate: '1949-12-31', gender: 'female' });
});

test('GB 11643-1999: the second published example 440524188001010014', () => {
  const parsed = parseResidentId('440524188001010014');
  assert.ok(parsed.ok);
  assert.equal(parsed.id.gender, 'male');
});

test('refuses a wrong check character, an impossible birth date, a future one, a bad region, a bad format', () => {
  const problem = (id: string) => {
    const parsed = parseResidentId(id, new Date('2026-11-22T00:00:00Z'));
    return parsed.ok ? 'ok' : parsed.problem;
  };
  assert.equal(problem('110105194912310021'), 'check_digit');
  assert.equal(problem('11010519490230' + '0021'), 'birth_date'); // 30 February
  assert.equal(problem('110105203001010011'), 'birth_date'); // 2030
  assert.equal(problem('990105194912310021'), 'region');
  assert.equal(problem('1101051949123100'), 'format');
  assert.equal(problem('11010519491231002Y'), 'format');
});

test('age counts completed years in Beijing time', () => {
  // 18th birthday on 2026-11-22 Beijing = 2026-11-21T16:00Z.
  assert.equal(ageInYears('2008-11-22', new Date('2026-11-21T15:59:59Z')), 17);
  assert.equal(ageInYears('2008-11-22', new Date('2026-11-21T16:00:00Z')), 18);
  assert.equal(ageInYears('1949-12-31', new Date('2026-11-22T00:00:00Z')), 76);
});
