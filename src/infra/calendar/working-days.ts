import chineseDays from 'chinese-days';

// The package is CommonJS (a minified UMD bundle): its functions hang off the default export.
const { getHolidaysInRange, isWorkday } = chineseDays;

/**
 * Working days in mainland China: Monday to Friday, minus the State Council's public holidays,
 * plus the adjusted working Saturdays and Sundays (调休). The calendar is the `chinese-days`
 * package, which follows each year's notice; a year it does not cover yet (the notice comes out
 * in November or December for the next year) falls back to Monday–Friday, and answers say so
 * with `calendarCovered: false`, so a deadline that runs into such a year can be recomputed
 * once the package is updated.
 *
 * Dates are calendar days in China (UTC+8, no daylight saving), written `YYYY-MM-DD`.
 */

const CHINA_OFFSET_MS = 8 * 60 * 60 * 1000;
const coveredYears = new Map<number, boolean>();

/** Whether the package holds the holiday notice for `year`. */
export function calendarCovers(year: number): boolean {
  let covered = coveredYears.get(year);
  if (covered === undefined) {
    covered = getHolidaysInRange(`${year}-01-01`, `${year}-12-31`, false).length > 0;
    coveredYears.set(year, covered);
  }
  return covered;
}

/** The calendar day in China of an instant. */
export function chinaDate(at: Date): string {
  return new Date(at.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 10);
}

/** Whether `day` (`YYYY-MM-DD`) is a working day in China. */
export function isWorkingDay(day: string): boolean {
  if (calendarCovers(Number(day.slice(0, 4)))) return isWorkday(day);
  const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

export interface WorkingDayDeadline {
  /** The last day (China) on which the answer is due, `YYYY-MM-DD`. */
  readonly dueDate: string;
  /** The end of that day in China as an instant: the moment after which the request is overdue. */
  readonly dueAt: Date;
  /** False when a day counted lies in a year the holiday calendar does not cover yet. */
  readonly calendarCovered: boolean;
}

/**
 * The deadline `workingDays` working days after `receivedAt`: the day of receipt does not count
 * (as for the 15-working-day answers the privacy policy promises), the first working day after
 * it is day 1.
 */
export function addWorkingDays(receivedAt: Date, workingDays: number): WorkingDayDeadline {
  if (!Number.isInteger(workingDays) || workingDays < 1) {
    throw new RangeError(`workingDays must be a positive whole number, got ${workingDays}`);
  }
  let day = chinaDate(receivedAt);
  let counted = 0;
  let covered = true;
  while (counted < workingDays) {
    day = nextDay(day);
    if (!calendarCovers(Number(day.slice(0, 4)))) covered = false;
    if (isWorkingDay(day)) counted += 1;
  }
  const dueAt = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000 - CHINA_OFFSET_MS - 1);
  return { dueDate: day, dueAt, calendarCovered: covered };
}
