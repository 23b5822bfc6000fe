import { fieldNameOf, type FieldError } from './field-errors.js';

// Dialects A and B report invalid input as one GraphQL error with code
// BAD_USER_INPUT, the per-field details in `extensions.fields`.

export const BAD_USER_INPUT = 'BAD_USER_INPUT';

export interface BadUserInputField {
  /** Dotted path, e.g. "input.email" or "input.licenses.1". */
  path: string;
  message: string;
}

export interface BadUserInputExtensions {
  code: typeof BAD_USER_INPUT;
  fields: BadUserInputField[];
}

export function badUserInputExtensions(errors: readonly FieldError[]): BadUserInputExtensions {
  return {
    code: BAD_USER_INPUT,
    fields: errors.map((e) => ({ path: e.path.join('.'), message: e.message })),
  };
}

/** "Invalid input: telephone is not a valid phone number; password is too common". */
export function badUserInputMessage(errors: readonly FieldError[]): string {
  if (errors.length === 0) return 'Invalid input';
  const parts = errors.map((e) => `${fieldNameOf(e.path) ?? 'input'} ${e.message}`);
  return `Invalid input: ${parts.join('; ')}`;
}
