import { getCountries, isSupportedCountry } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { ISO_COUNTRY_CODES, isIsoCountryCode } from './region-codes.js';

describe('ISO_COUNTRY_CODES', () => {
  it('holds the 249 officially assigned codes', () => {
    expect(ISO_COUNTRY_CODES.size).toBe(249);
    for (const code of ISO_COUNTRY_CODES) expect(code).toMatch(/^[A-Z]{2}$/);
  });

  it('has a display name in Intl for every code', () => {
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    for (const code of ISO_COUNTRY_CODES) expect(names.of(code), code).toBeTruthy();
  });

  it('covers every libphonenumber region except the non-ISO AC, TA and XK', () => {
    expect(getCountries().filter((c) => !isIsoCountryCode(c))).toEqual(['AC', 'TA', 'XK']);
    const isoWithoutPlan = [...ISO_COUNTRY_CODES].filter((c) => !isSupportedCountry(c));
    expect(isoWithoutPlan).toEqual(['AQ', 'BV', 'GS', 'HM', 'PN', 'TF', 'UM']);
  });

  it('is case-sensitive and excludes exceptionally reserved codes', () => {
    expect(isIsoCountryCode('GB')).toBe(true);
    expect(isIsoCountryCode('gb')).toBe(false);
    expect(isIsoCountryCode('UK')).toBe(false);
    expect(isIsoCountryCode('EU')).toBe(false);
  });
});
