// Small formatting helpers shared by the pages.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

export function seconds(s) {
  if (s === null || s === undefined || !isFinite(s)) return '–';
  if (s < 1) return '<1 s';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export const time = (date) => date.toLocaleTimeString([], { hour12: false });

/** A version token's wall time (wall microseconds before the dot). */
export function versionTime(token) {
  const micros = Number(token.split('.')[0]);
  return isFinite(micros) ? new Date(micros / 1000).toLocaleString([], { hour12: false }) : '';
}
