import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { knownOperationTypeRule } from './operation-types.js';

const schema = buildSchema('type Query { hello: String }');
const errorsOf = (doc: string) => validate(schema, parse(doc), [knownOperationTypeRule]).map((e) => e.message);

describe('knownOperationTypeRule', () => {
  it('refuses a subscription or mutation the schema has no root type for, whatever fields it names', () => {
    expect(errorsOf('subscription { anything }')).toEqual(['This API answers no subscription operations']);
    expect(errorsOf('mutation M { field_chosen_by_client }')).toEqual(['This API answers no mutation operations']);
  });

  it('lets through operations on root types the schema has', () => {
    expect(errorsOf('query { hello }')).toEqual([]);
    expect(errorsOf('{ __typename }')).toEqual([]);
  });
});
