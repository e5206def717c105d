// A short soak (the full one is `npm run soak`): scripted sessions against a collector that
// fails at random. Nothing a visitor allowed to be stored is lost, nothing is counted twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soak } from '../../scripts/soak.mjs';

test('12 sessions with random faults: zero lost where storage is allowed, zero double counts', async () => {
  const s = await soak({ sessions: 12, concurrency: 3, seed: 5 });
  const faults = Object.values(s.faults).reduce((a, b) => a + b, 0);
  assert.ok(faults > 0, 'faults were injected: ' + JSON.stringify(s.faults));
  assert.ok(s.generatedStored > 0 && s.generatedMemory > 0, 'both kinds of visitor');
  assert.equal(s.lostStored, 0, 'lost with storage: ' + JSON.stringify(s.missing));
  assert.equal(s.doubleCounted, 0);
  // the collector's own count of what it stored (received minus the repeats it dropped) is
  // exactly the generated events found by content: nothing stored that was not generated,
  // nothing generated stored twice under two ids
  assert.equal(s.stored, s.delivered, `collector stored ${s.stored}, ledger found ${s.delivered}`);
  assert.ok(s.delivered > 0 && s.delivered <= s.generated);
});
