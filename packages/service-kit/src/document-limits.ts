import {
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { LRUCache } from 'lru-cache';

/**
 * Limits on abusive documents. Depth, aliases and directives are
 * graphql-armor's validation rules, which count each fragment once and reuse
 * the count at every spread (linear in the document; a hand-written depth rule
 * that walked a fragment again at each spread took seconds on a 2 KB chain of
 * fragment pairs). Tokens are counted by graphql-js's own parser
 * (`parseOptions.maxTokens`); armor's max-tokens for Apollo would parse every
 * document once more on every request. Our one extra parse, for the repeats
 * check below, is remembered per query text (createDocumentPrecheck).
 * Nesting inside introspection is bounded by graphql-js's
 * MaxIntrospectionDepthRule, one of the specified rules Apollo always runs.
 */
export interface DocumentLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
}

/** Which limit refused a document, in `extensions.limit`, so clients and tests need not read the message. */
export type DocumentLimitName = 'depth' | 'aliases' | 'directives' | 'repeats' | 'cost';

export function limitError(limit: DocumentLimitName, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit } });
}

/**
 * Armor throws by default (a 500 from Apollo); reporting to the validation
 * context gives Apollo's 400 GRAPHQL_VALIDATION_FAILED instead. Armor's
 * message starts "Syntax Error: ", which this is not.
 */
const reportAs = (limit: DocumentLimitName) => ({
  propagateOnRejection: false,
  exposeLimits: true,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      context?.reportError(limitError(limit, error.message.replace(/^Syntax Error: /, '')));
    },
  ],
});

export function documentLimitRules(limits: Omit<DocumentLimits, 'maxTokens'>): ValidationRule[] {
  return [
    // flattenFragments: a fragment adds no level of its own; only fields do.
    // __schema is not counted: MaxIntrospectionDepthRule bounds introspection.
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...reportAs('depth') }),
    // Every alias counts, __typename's too (armor lets those through by default).
    maxAliasesRule({ n: limits.maxAliases, allowList: [], ...reportAs('aliases') }),
    maxDirectivesRule({ n: limits.maxDirectives, ...reportAs('directives') }),
  ] as ValidationRule[];
}

/**
 * Work graphql-js's OverlappingFieldsCanBeMergedRule would do merging the
 * selections that share a response name, which grows with the square of the
 * repeats (`{ me { organization { id } organization { id } … } }`: 745 repeats,
 * 15 KB, held the event loop 150-600 ms before graphql-js's own budget
 * stopped it). graphql-js runs that rule before any of ours and cannot be
 * stopped from a rule, so this runs first, on the raw text (see
 * createServiceHttpServer). The count: at each level (inline fragments
 * flattened, each distinct fragment spread once, as graphql-js does), every
 * pair of same-named selections costs the product of their sizes in fields.
 * Each fragment is measured once; fragments spread side by side are compared
 * by looking the smaller one's names up in the larger (under 1 ms for every
 * shape tried within MAX_TOKENS, bench P8).
 */
export const MAX_MERGE_WORK = 20_000;

type Names = Map<string, { count: number; sum: number; sumSq: number }>;

interface Level {
  /** Per response name of this level's own fields: how many, the sum of their sizes and of their squared sizes. */
  own: Names;
  /** The distinct fragments spread at this level (graphql-js compares each once). */
  spreads: Measured[];
  /** Fields in this level and below, fragments spread in full. */
  size: number;
  /** Pair work of this level and every level below it. */
  work: number;
}

/** A fragment: its level, and (made once, when a spread compares against it) all names at its top level. */
interface Measured extends Level {
  all?: Names;
}

const pairs = (n: { count: number; sum: number; sumSq: number }) => (n.count > 1 ? (n.sum * n.sum - n.sumSq) / 2 : 0);

/** Pairs between two groups of same-named selections: the product of their sizes, name by name. */
function crossWork(a: Names, b: Names): number {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let work = 0;
  for (const [name, n] of small) {
    const m = large.get(name);
    if (m) work += n.sum * m.sum;
  }
  return work;
}

function allNames(level: Measured): Names {
  if (level.all) return level.all;
  const all: Names = new Map(level.own);
  for (const frag of level.spreads) {
    for (const [name, n] of allNames(frag)) {
      const mine = all.get(name) ?? { count: 0, sum: 0, sumSq: 0 };
      all.set(name, { count: mine.count + n.count, sum: mine.sum + n.sum, sumSq: mine.sumSq + n.sumSq });
    }
  }
  level.all = all;
  return all;
}

export function mergeWork(document: DocumentNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const measured = new Map<string, Measured>();
  const inProgress = new Set<string>();

  const fragmentLevel = (name: string): Measured | undefined => {
    const known = measured.get(name);
    if (known) return known;
    const frag = fragments.get(name);
    if (!frag || inProgress.has(name)) return undefined; // unknown or cyclic: graphql-js reports it
    inProgress.add(name);
    const level = measure(frag.selectionSet);
    inProgress.delete(name);
    measured.set(name, level);
    return level;
  };

  const measure = (set: SelectionSetNode): Measured => {
    const level: Measured = { own: new Map(), spreads: [], size: 0, work: 0 };
    const spread = new Set<string>();
    const collect = (s: SelectionSetNode) => {
      for (const sel of s.selections) {
        if (sel.kind === Kind.FIELD) {
          const child = sel.selectionSet ? measure(sel.selectionSet) : undefined;
          const size = 1 + (child?.size ?? 0);
          level.work += child?.work ?? 0;
          level.size += size;
          const name = (sel.alias ?? sel.name).value;
          const n = level.own.get(name) ?? { count: 0, sum: 0, sumSq: 0 };
          level.own.set(name, { count: n.count + 1, sum: n.sum + size, sumSq: n.sumSq + size * size });
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          collect(sel.selectionSet);
        } else if (!spread.has(sel.name.value)) {
          spread.add(sel.name.value);
          const frag = fragmentLevel(sel.name.value);
          if (!frag) continue;
          level.work += frag.work;
          level.size += frag.size;
          level.spreads.push(frag);
        }
      }
    };
    collect(set);
    for (const n of level.own.values()) level.work += pairs(n);
    // Own fields against each fragment, and fragments against each other.
    for (let i = 0; i < level.spreads.length; i++) {
      level.work += crossWork(level.own, allNames(level.spreads[i]!));
      for (let j = i + 1; j < level.spreads.length; j++) level.work += crossWork(allNames(level.spreads[i]!), allNames(level.spreads[j]!));
    }
    return level;
  };

  let total = 0;
  for (const def of document.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION) total += measure(def.selectionSet).work;
  }
  return total;
}

/**
 * The checks that must run before Apollo validates a document: parses with
 * the token limit and measures mergeWork. A document that does not parse is
 * left to Apollo, which answers it in its usual words.
 */
/**
 * checkDocumentBeforeValidation, remembered per query text as Apollo remembers
 * parsed documents: a query sent again is not parsed again. At most about 10 MB
 * of query text is kept; the least recently sent goes first.
 */
export function createDocumentPrecheck(maxTokens: number): (query: string) => GraphQLError | undefined {
  const verdicts = new LRUCache<string, { refused?: GraphQLError }>({
    maxSize: 10_000_000,
    sizeCalculation: (_verdict, query) => query.length || 1,
  });
  return (query) => {
    let verdict = verdicts.get(query);
    if (!verdict) {
      verdict = { refused: checkDocumentBeforeValidation(query, maxTokens) };
      verdicts.set(query, verdict);
    }
    return verdict.refused;
  };
}

export function checkDocumentBeforeValidation(query: string, maxTokens: number): GraphQLError | undefined {
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens, noLocation: true });
  } catch {
    return undefined;
  }
  const work = mergeWork(document);
  return work > MAX_MERGE_WORK
    ? limitError(
        'repeats',
        `Too many repeated selections: merging them would take ${Math.round(work)} comparisons, the limit is ${MAX_MERGE_WORK}`,
      )
    : undefined;
}
