// The device page's form for what the household calls a device and where it is: a name, a
// room (the rooms in use offered as suggestions, or no room), and Reset back to what the
// device itself says. Only what changed is sent, so saving a room does not pin the name.

import type { Hub } from './adapter';
import { h } from './dom';
import type { Device, NamingChange } from './types';
import { failure, statusLine } from './widgets';

export function namingForm(hub: Hub, d: Device, rooms: string[], saved: (d: Device) => void): HTMLElement {
  let device = d;
  const name = h('input', {
    id: 'device-name',
    name: 'name',
    autocomplete: 'off',
    maxlength: 100,
  }) as HTMLInputElement;
  const room = h('input', {
    id: 'device-room',
    name: 'room',
    list: 'device-rooms',
    autocomplete: 'off',
    maxlength: 100,
    placeholder: 'e.g. kitchen',
  }) as HTMLInputElement;
  const noRoom = h('input', { id: 'device-no-room', type: 'checkbox' }) as HTMLInputElement;
  const hint = h('p', { class: 'muted small' });
  const reset = h(
    'button',
    { type: 'button', onclick: () => send({ name: null, room: null }, 'Back to its own name and room.') },
    'Reset',
  ) as HTMLButtonElement;
  const status = statusLine();

  const fill = (d: Device) => {
    device = d;
    name.value = d.name;
    room.value = d.room ?? '';
    noRoom.checked = d.room == null;
    room.disabled = noRoom.checked;
    reset.disabled = !d.customised;
    hint.textContent = d.customised
      ? 'Named or placed by the household; Reset goes back to what the device says.'
      : 'As the device says. A name or room you choose here stays, whatever the device publishes.';
    name.removeAttribute('aria-invalid');
  };
  noRoom.addEventListener('change', () => {
    room.disabled = noRoom.checked;
    if (noRoom.checked) room.value = '';
    else room.focus();
  });

  const send = (change: NamingChange, done: string) => {
    status.ok('Saving…');
    hub.renameDevice(device.id, change).then(
      (d) => {
        fill(d);
        status.ok(done);
        saved(d);
      },
      (e: unknown) => {
        if ('name' in change && change.name != null) name.setAttribute('aria-invalid', 'true');
        status.err(failure(e));
      },
    );
  };

  fill(d);
  return h(
    'form',
    {
      class: 'naming panel',
      'aria-label': 'Name and room',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const change: NamingChange = {};
        if (name.value.trim() !== device.name) change.name = name.value.trim();
        const r = noRoom.checked ? '' : room.value.trim();
        if (r !== (device.room ?? '')) change.room = r;
        if (Object.keys(change).length === 0) return status.ok('Nothing to change.');
        send(change, 'Saved.');
      },
    },
    h('h2', { class: 'plain' }, 'Name and room'),
    h('div', { class: 'form-row' }, h('label', { for: 'device-name' }, 'Name'), name),
    h(
      'div',
      { class: 'form-row' },
      h('label', { for: 'device-room' }, 'Room'),
      room,
      h('label', { class: 'check' }, noRoom, 'No room'),
    ),
    h('datalist', { id: 'device-rooms' }, ...rooms.map((r) => h('option', { value: r }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), reset),
    status.el,
    hint,
  );
}
