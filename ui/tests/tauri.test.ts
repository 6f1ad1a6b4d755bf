import { describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
const listen = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }));
vi.mock('@tauri-apps/api/event', () => ({ listen: (...a: unknown[]) => listen(...a) }));

const { TauriHub, inTauri, attachedHub, ownWindow } = await import('../src/tauri');

describe('TauriHub', () => {
  it('calls the shell commands with their argument names', async () => {
    invoke.mockResolvedValue({ id: 3 });
    const hub = new TauriHub();
    await hub.switchLight('hall/light', false);
    expect(invoke).toHaveBeenLastCalledWith('switch_light', { id: 'hall/light', on: false });
    await hub.history('home/a/temperature', '', 1.5, 9.2, 10);
    expect(invoke).toHaveBeenLastCalledWith('get_history', {
      topic: 'home/a/temperature',
      field: '',
      from: 1,
      to: 10,
      points: 10,
    });
    await hub.commands('hall/light');
    expect(invoke).toHaveBeenLastCalledWith('light_commands', { id: 'hall/light', limit: 50 });
    await hub.renameDevice('z2m/hall/lamp', { name: 'Lamp', room: '' });
    expect(invoke).toHaveBeenLastCalledWith('rename_device', {
      id: 'z2m/hall/lamp',
      change: { name: 'Lamp', room: '' },
    });
  });

  it("turns the shell's {code, message} errors into HubErrors", async () => {
    invoke.mockRejectedValue({ code: 'not_found', message: "no device 'x/y'" });
    await expect(new TauriHub().device('x/y')).rejects.toMatchObject({ code: 'not_found', message: "no device 'x/y'" });
    invoke.mockRejectedValue('boom');
    await expect(new TauriHub().broker()).rejects.toMatchObject({ code: 'internal' });
  });

  it('streams hub-event payloads and stops listening when asked', async () => {
    const unlisten = vi.fn();
    let handler: (e: { payload: unknown }) => void = () => {};
    listen.mockImplementation(async (_name: string, h: typeof handler) => {
      handler = h;
      return unlisten;
    });
    const got: unknown[] = [];
    const links: string[] = [];
    const stop = new TauriHub().subscribe(
      (e) => got.push(e),
      (s) => links.push(s),
    );
    expect(listen.mock.calls[0][0]).toBe('hub-event');
    handler({ payload: { type: 'reading', topic: 't', field: '', tsMs: 1, value: 2 } });
    expect(got).toEqual([{ type: 'reading', topic: 't', field: '', tsMs: 1, value: 2 }]);
    await Promise.resolve();
    expect(links).toEqual(['open']);
    stop();
    await Promise.resolve();
    await Promise.resolve();
    expect(unlisten).toHaveBeenCalled();
  });

  it('knows a browser from the desktop window', () => {
    expect(inTauri()).toBe(false);
  });

  it('saves files and switches the login entry through the shell', async () => {
    invoke.mockResolvedValue('/home/a/Downloads/t.csv');
    const hub = new TauriHub();
    await expect(hub.saveFile('t.csv', 'time,min\n')).resolves.toBe('/home/a/Downloads/t.csv');
    expect(invoke).toHaveBeenLastCalledWith('save_file', { name: 't.csv', text: 'time,min\n' });
    invoke.mockResolvedValue({ enabled: true, asked: true, entry: '/x' });
    await hub.setAutostart(true);
    expect(invoke).toHaveBeenLastCalledWith('set_autostart', { enabled: true });
    await hub.autostart();
    expect(invoke).toHaveBeenLastCalledWith('autostart', undefined);
  });

  it('tells the window showing a running hub from its own page', () => {
    const w = window as unknown as Record<string, unknown>;
    w.__TAURI_INTERNALS__ = {};
    try {
      expect(ownWindow()).toBe(true);
      history.replaceState(null, '', '/?window=desktop#/devices');
      expect(attachedHub()).toBe(location.host);
      expect(ownWindow()).toBe(false);
    } finally {
      delete w.__TAURI_INTERNALS__;
      history.replaceState(null, '', '/');
    }
    expect(attachedHub()).toBe(null);
  });
});
