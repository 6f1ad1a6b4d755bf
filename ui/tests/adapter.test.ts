import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpHub, HubError, devicePath } from '../src/adapter';

function fetchReturning(status: number, body: unknown) {
  return vi.fn(
    async (_url: RequestInfo | URL, _init?: RequestInit) =>
      new Response(body === undefined ? 'not json' : JSON.stringify(body), { status }),
  );
}

class FakeSocket {
  static made: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  close() {
    this.closed = true;
  }
}

afterEach(() => {
  vi.useRealTimers();
  FakeSocket.made = [];
});

describe('HttpHub', () => {
  it('builds device paths with each part encoded', () => {
    expect(devicePath('living room/light')).toBe('/api/devices/living%20room/light');
    // Only the first `/` separates the two segments; the rest's own are encoded.
    expect(devicePath('z2m/hall/lamp')).toBe('/api/devices/z2m/hall%2Flamp');
  });

  it('posts a switch as JSON and returns the command', async () => {
    const f = fetchReturning(202, { id: 7, outcome: 'pending' });
    const hub = new HttpHub('http://hub:8080', f as unknown as typeof fetch);
    const c = await hub.switchLight('hall/light', true);
    expect(c.id).toBe(7);
    const [url, init] = f.mock.calls[0];
    expect(url).toBe('http://hub:8080/api/devices/hall/light/switch');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual({ state: 'ON' });
  });

  it("passes the hub's {code, message} errors on", async () => {
    const hub = new HttpHub(
      '',
      fetchReturning(404, { code: 'not_found', message: "no device 'x/y'" }) as unknown as typeof fetch,
    );
    await expect(hub.device('x/y')).rejects.toMatchObject({
      code: 'not_found',
      message: "no device 'x/y'",
      status: 404,
    });
  });

  it('says when the hub cannot be reached, and copes with bodies that are not JSON', async () => {
    const down = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(new HttpHub('', down as unknown as typeof fetch).devices()).rejects.toMatchObject({
      code: 'unreachable',
    });
    const odd = new HttpHub('', fetchReturning(502, undefined) as unknown as typeof fetch);
    const e = await odd.broker().catch((x) => x);
    expect(e).toBeInstanceOf(HubError);
    expect(e.code).toBe('http_502');
  });

  it('asks for history with whole seconds', async () => {
    const f = fetchReturning(200, {});
    await new HttpHub('', f as unknown as typeof fetch).history('home/a/temperature', '', 10.7, 20.2, 100);
    expect(f.mock.calls[0][0]).toBe('/api/history?topic=home%2Fa%2Ftemperature&field=&from=10&to=21&points=100');
  });

  it('streams events and reconnects with growing delays until stopped', () => {
    vi.useFakeTimers();
    const hub = new HttpHub('http://hub:8080', fetch, (u) => new FakeSocket(u) as unknown as WebSocket);
    const events: unknown[] = [];
    const links: string[] = [];
    const stop = hub.subscribe(
      (e) => events.push(e),
      (s, d) => links.push(d ? `${s} ${d}` : s),
    );
    const first = FakeSocket.made[0];
    expect(first.url).toBe('ws://hub:8080/api/events');
    first.onopen?.();
    first.onmessage?.({ data: '{"type":"reading","topic":"t","field":"","tsMs":1,"value":2}' });
    first.onmessage?.({ data: 'garbage' });
    expect(events).toEqual([{ type: 'reading', topic: 't', field: '', tsMs: 1, value: 2 }]);
    first.onclose?.();
    vi.advanceTimersByTime(500);
    expect(FakeSocket.made.length).toBe(2);
    FakeSocket.made[1].onclose?.();
    vi.advanceTimersByTime(999);
    expect(FakeSocket.made.length).toBe(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.made.length).toBe(3);
    expect(links).toEqual(['connecting', 'open', 'retrying 500', 'connecting', 'retrying 1000', 'connecting']);
    stop();
    expect(FakeSocket.made[2].closed).toBe(true);
    FakeSocket.made[2].onclose?.();
    vi.advanceTimersByTime(20_000);
    expect(FakeSocket.made.length).toBe(3);
  });
});
