import { describe, expect, it } from 'vitest';
import { ServerClock, Track } from '../src/interp';

describe('Track', () => {
  it('moves at constant speed through a chained walk, one snapshot per tick', () => {
    const t = new Track(4);
    // Server: move (0,0)->(1,0) starts at tick 10, arrives at 14 and chains to (2,0), arrives 18.
    for (let tick = 10; tick <= 20; tick++) {
      if (tick < 14) t.push(tick, { x: 0, y: 0 }, { x: 1, y: 0 });
      else if (tick < 18) t.push(tick, { x: 1, y: 0 }, { x: 2, y: 0 });
      else t.push(tick, { x: 2, y: 0 }, null);
    }
    const xs = [];
    for (let r = 10; r <= 19; r += 0.5) xs.push(t.sample(r)!.x);
    for (let i = 1; i < xs.length; i++) {
      expect(xs[i]).toBeGreaterThanOrEqual(xs[i - 1]); // never backwards
      expect(xs[i] - xs[i - 1]).toBeLessThanOrEqual(0.125 + 1e-9); // never faster than 1 tile / 4 ticks
    }
    expect(t.sample(12)).toEqual({ x: 0.5, y: 0 });
    expect(t.sample(16)).toEqual({ x: 1.5, y: 0 });
    expect(t.sample(30)).toEqual({ x: 2, y: 0 });
  });

  it('never overshoots the target while waiting for the next snapshot', () => {
    const t = new Track(4);
    t.push(10, { x: 0, y: 0 }, { x: 0, y: 1 });
    expect(t.sample(13)).toEqual({ x: 0, y: 0.75 });
    expect(t.sample(40)).toEqual({ x: 0, y: 1 });
  });

  it('keeps the move start across skipped ticks and holds before the first keyframe', () => {
    const t = new Track(4);
    t.push(10, { x: 3, y: 3 }, { x: 4, y: 3 });
    t.push(12, { x: 3, y: 3 }, { x: 4, y: 3 });
    expect(t.sample(12)).toEqual({ x: 3.5, y: 3 });
    expect(t.sample(5)).toEqual({ x: 3, y: 3 });
  });

  it('jumps to a teleported position and ignores stale keyframes', () => {
    const t = new Track(4);
    t.push(10, { x: 1, y: 1 }, null);
    t.push(11, { x: 9, y: 9 }, null);
    t.push(5, { x: 0, y: 0 }, null);
    expect(t.sample(11)).toEqual({ x: 9, y: 9 });
    expect(t.lastTick()).toBe(11);
  });
});

describe('ServerClock', () => {
  it('tracks the server tick and renders one snapshot behind', () => {
    const c = new ServerClock(50, 1);
    expect(c.renderTick(0)).toBeNull();
    c.observe(100, 1000);
    expect(c.serverTick(1000)).toBe(100);
    expect(c.renderTick(1025)).toBeCloseTo(99.5);
    // A late snapshot does not pull the clock back much; an early one catches up at once.
    c.observe(101, 1080);
    expect(c.serverTick(1080)!).toBeGreaterThan(101.5);
    c.observe(110, 1100);
    expect(c.serverTick(1100)).toBeCloseTo(110);
  });
});
