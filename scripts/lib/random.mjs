// Seeded randomness for the simulator and the soak run, so that a run can be repeated.

/** mulberry32: a small, fast 32-bit PRNG. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    chance: (p) => next() < p,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** One value of `[[weight, value], …]`. */
    pick: (weighted) => {
      const total = weighted.reduce((s, [w]) => s + w, 0);
      let r = next() * total;
      for (const [w, v] of weighted) if ((r -= w) < 0) return v;
      return weighted[weighted.length - 1][1];
    },
  };
}

/** `--name value` from the command line, or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
}
