import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { best, gb, pct } from './report.ts';
import type { Row } from './measure.ts';

describe('the report', () => {
  it('prints ratios as signed percentages, fewer bytes negative', () => {
    assert.equal(pct(88.8, 100), '-11.2%');
    assert.equal(pct(105, 100), '+5.0%');
    assert.equal(pct(1, 1), '-0.0%');
    assert.equal(gb(12_345_678_901), '12.35');
  });

  it("takes a baseline's best figure of its sweep", () => {
    const rows = [{ d: 5, churn: 1 }, { d: 3, churn: 4 }, { d: 4, churn: 2 }] as Row[];
    assert.equal(best(rows, (row) => row.d).d, 3);
    assert.equal(best(rows, (row) => row.churn).churn, 1);
  });
});
