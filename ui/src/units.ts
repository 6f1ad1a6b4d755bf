// The household's temperature unit, shared by every page. It is asked for again whenever a page
// opens, since someone else in the house may have changed it; a hub that cannot say (an older
// desktop shell) leaves it at °C rather than keeping the page from showing.

import type { Hub } from './adapter';
import { isTempUnit, type TempUnit } from './format';

let current: TempUnit = '°C';

export function householdUnit(): TempUnit {
  return current;
}

export function loadUnit(hub: Hub): Promise<TempUnit> {
  return hub.preferences().then(
    (p) => {
      if (isTempUnit(p.temperatureUnit)) current = p.temperatureUnit;
      return current;
    },
    () => current,
  );
}

export async function chooseUnit(hub: Hub, unit: TempUnit): Promise<TempUnit> {
  const p = await hub.setPreferences({ temperatureUnit: unit });
  current = isTempUnit(p.temperatureUnit) ? p.temperatureUnit : unit;
  return current;
}
