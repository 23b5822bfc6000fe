import { fieldNameOf, type FieldError } from './field-errors.js';

// Dialect D returns errors inside the mutation payload, each with a sentence
// ready to show next to a form field.

export interface PayloadError {
  path: string[];
  message: string;
  /** "<Field> <message>", e.g. "First name must be at most 100 characters". */
  fullMessage: string;
}

// Words kept in capitals when a field name is humanised.
const ACRONYMS: Record<string, string> = { id: 'ID', url: 'URL', ssn: 'SSN', ein: 'EIN' };

/** "requestedOriginGroup" → "Requested origin group", "addressLine1" → "Address line 1", "_id" → "ID". */
export function humanizeFieldName(name: string): string {
  const words = name
    .replace(/([\p{Ll}\d])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, '$1 $2')
    .replace(/(\p{L})(\d)/gu, '$1 $2')
    .split(/[\s_-]+/)
    .filter((w) => w.length > 0)
    .map((w) => {
      const lower = w.toLowerCase();
      if (ACRONYMS[lower]) return ACRONYMS[lower];
      // Keep acronyms already written in capitals ("HTML"), lower-case the rest.
      return w.length > 1 && w === w.toUpperCase() && /\p{L}/u.test(w) ? w : lower;
    });
  const sentence = words.join(' ');
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

export function toPayloadErrors(errors: readonly FieldError[]): PayloadError[] {
  return errors.map((e) => {
    const field = humanizeFieldName(fieldNameOf(e.path) ?? '') || 'Input';
    return { path: [...e.path], message: e.message, fullMessage: `${field} ${e.message}` };
  });
}
