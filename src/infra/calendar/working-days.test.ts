import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addWorkingDays, calendarCovers, chinaDate, isWorkingDay } from './working-days.ts';

describe('working days in China', () => {
  it('knows the 2026 National Day holiday and its adjusted working Saturday', () => {
    assert.equal(isWorkingDay('2026-10-01'), false); // National Day
    assert.equal(isWorkingDay('2026-10-07'), false); // still the Golden Week
    assert.equal(isWorkingDay('2026-10-10'), true); // a Saturday worked in lieu
    assert.equal(isWorkingDay('2026-10-11'), false); // an ordinary Sunday
    assert.equal(isWorkingDay('2026-09-30'), true);
  });

  it('counts 15 working days across the National Day holiday and the adjusted Saturday', () => {
    // Received Tuesday 29 Sep 2026 (10:00 in Beijing); the day of receipt does not count and
    // 1–7 Oct are off: 30 Sep (1), 8 Oct (2), 9 (3), Saturday 10 (4, worked in lieu), 12–16
    // (5–9), 19–23 (10–14), 26 (15).
    const deadline = addWorkingDays(new Date('2026-09-29T02:00:00Z'), 15);
    assert.equal(deadline.dueDate, '2026-10-26');
    assert.equal(deadline.calendarCovered, true);
    // Overdue from midnight in Beijing at the end of that day.
    assert.equal(deadline.dueAt.toISOString(), '2026-10-26T15:59:59.999Z');
  });

  it('takes the day in Beijing, not in UTC, as the day of receipt', () => {
    // 23:30 UTC on Friday 4 Dec is already Saturday 5 Dec in Beijing.
    assert.equal(chinaDate(new Date('2026-12-04T23:30:00Z')), '2026-12-05');
    assert.equal(addWorkingDays(new Date('2026-12-04T23:30:00Z'), 1).dueDate, '2026-12-07');
    assert.equal(addWorkingDays(new Date('2026-12-04T10:00:00Z'), 1).dueDate, '2026-12-07');
  });

  it('says when a deadline runs into a year the calendar does not cover yet', () => {
    const farYear = 2099;
    assert.equal(calendarCovers(farYear), false);
    const deadline = addWorkingDays(new Date(`${farYear}-03-02T02:00:00Z`), 3); // a Monday
    assert.equal(deadline.calendarCovered, false);
    assert.equal(deadline.dueDate, `${farYear}-03-05`);
  });

  it('refuses a count that is not a positive whole number', () => {
    assert.throws(() => addWorkingDays(new Date(), 0), RangeError);
    assert.throws(() => addWorkingDays(new Date(), 1.5), RangeError);
  });
});
