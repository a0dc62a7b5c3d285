// Annual figures from a structure's monthly schedule (the schedule runs t = 1..12·tenor, so
// year y is months 12(y−1)+1 ..= 12y), as the term sheet sums them.

/**
 * @param {any[]} schedule monthly rows of the export
 * @returns {{year: number, cfads: number, senior_ds: number, mezz_ds: number|null,
 *            senior_balance: number, mezz_balance: number|null, dscr: number}[]}
 */
export function annual(schedule) {
  const years = [];
  for (let i = 0; i < schedule.length; i += 12) {
    const months = schedule.slice(i, i + 12);
    const sum = (f) => months.reduce((a, r) => a + (f(r) || 0), 0);
    const last = months[months.length - 1];
    const cfads = sum((r) => r.cfads);
    const seniorDs = sum((r) => r.senior_ds);
    const mezz = last.mezz_balance !== null && last.mezz_balance !== undefined;
    years.push({
      year: i / 12 + 1,
      cfads,
      senior_ds: seniorDs,
      mezz_ds: mezz ? sum((r) => r.mezz_ds) : null,
      senior_balance: last.senior_balance,
      mezz_balance: mezz ? last.mezz_balance : null,
      dscr: cfads / seniorDs,
    });
  }
  return years;
}
