import { singleLineText } from './text.js';

// Display text chosen by people: any script or symbol is fine, only length and
// control characters are policed.
export const organisationNameSchema = singleLineText({ max: 200 });

export const jobTitleSchema = singleLineText({ max: 100 });
