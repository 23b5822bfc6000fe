import { auditEvent, type AuditEvent, type AuditOrigin } from '@usergraph/audit';
import { DomainError, isNotFound, forbidden, type Caller } from '@usergraph/service-kit';
import type { ProfileDto, UserService } from '../users/user-service.js';
import type { AccessPolicy, UserScope } from '../../access-policy.js';
import type { ConnectionDoc, ConnectionRepository } from './connection-repository.js';
import {
  connectionsInputSchema,
  parseInput,
  recordConnectionSchema,
  recordTradelineSchema,
  tradelinesInputSchema,
  userIdSchema,
} from './consumer-inputs.js';
import type { Page } from '../../pagination.js';
import type { TradelineDoc, TradelineRepository } from './tradeline-repository.js';

export interface ConnectionDto {
  id: string;
  institutionName: string;
  status: ConnectionDoc['status'];
  createdAt: string;
  updatedAt: string;
  lastSyncedAt: string | null;
}

export interface TradelineDto {
  id: string;
  connectionId: string;
  accountType: string;
  creditorName: string;
  balance: { amount: string; currency: string };
  openedOn: string | null;
  status: TradelineDoc['status'];
  createdAt: string;
  updatedAt: string;
}

const toConnectionDto = (d: ConnectionDoc): ConnectionDto => ({
  id: d._id,
  institutionName: d.institutionName,
  status: d.status,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
  lastSyncedAt: d.lastSyncedAt?.toISOString() ?? null,
});

const toTradelineDto = (d: TradelineDoc): TradelineDto => ({
  id: d._id,
  connectionId: d.connectionId,
  accountType: d.accountType,
  creditorName: d.creditorName,
  balance: { amount: d.balanceAmount, currency: d.currency },
  openedOn: d.openedOn ?? null,
  status: d.status,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});

const notFound = (what: string, path: string) =>
  new DomainError('NOT_FOUND', `${what} not found in your organization`, [{ path: ['input', path], message: 'was not found' }]);

/** Connections and tradelines: recorded by the organization, read through User. */
export function createFinancialDataService(deps: {
  users: UserService;
  connections: ConnectionRepository;
  tradelines: TradelineRepository;
  access: AccessPolicy;
  audit: { kickFinancial: (collection: 'connections' | 'tradelines', id: string) => void };
}) {
  /** The event a recorded connection or tradeline carries in its insert: ids only, never the institution or amounts. */
  const recorded =
    (origin: AuditOrigin, scope: UserScope, type: 'connection' | 'tradeline') =>
    (id: string): AuditEvent =>
      auditEvent(origin, {
        action: `${type}.recorded`,
        organizationId: scope.organizationId,
        target: { type, id },
        outcome: 'success',
        subjectUserId: scope.userId,
      });

  /** The user, looked up only inside the caller's organization. */
  async function userInOrganization(organizationId: string, userId: string): Promise<UserScope> {
    await deps.users.getProfile(organizationId, userId).catch((err: unknown) => {
      throw isNotFound(err) ? notFound('User', 'userId') : err;
    });
    return { organizationId, userId };
  }

  async function recordConnection(caller: Caller, rawInput: unknown, origin: AuditOrigin): Promise<ConnectionDto> {
    const organizationId = await deps.access.requireOrganizationScope(caller);
    const input = parseInput(recordConnectionSchema, rawInput, ['input']);
    const scope = await userInOrganization(organizationId, input.userId);
    await deps.access.requireWriteOn(caller, scope);
    const doc = await deps.connections.insert(
      scope,
      { institutionName: input.institutionName, status: input.status },
      recorded(origin, scope, 'connection'),
    );
    deps.audit.kickFinancial('connections', doc._id);
    return toConnectionDto(doc);
  }

  async function recordTradeline(caller: Caller, rawInput: unknown, origin: AuditOrigin): Promise<TradelineDto> {
    const organizationId = await deps.access.requireOrganizationScope(caller);
    const { userId, openedOn, ...fields } = parseInput(recordTradelineSchema, rawInput, ['input']);
    const scope = await userInOrganization(organizationId, userId);
    await deps.access.requireWriteOn(caller, scope);
    if (!(await deps.connections.findById(scope, fields.connectionId))) throw notFound('Connection', 'connectionId');
    const doc = await deps.tradelines.insert(scope, { ...fields, openedOn: openedOn ?? undefined }, recorded(origin, scope, 'tradeline'));
    deps.audit.kickFinancial('tradelines', doc._id);
    return toTradelineDto(doc);
  }

  /** One user by id, as the access policy lets the caller see it: null for an id that is not in the caller's organization. */
  async function organizationUser(caller: Caller, rawId: unknown): Promise<ProfileDto | null> {
    const scope = await deps.access.readScope(caller);
    const userId = parseInput(userIdSchema, rawId, ['id']);
    if (scope.onlyUserId !== undefined && scope.onlyUserId !== userId) throw forbidden('This user is not visible to you');
    const { organizationId } = scope;
    return deps.users.getProfile(organizationId, userId).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  }

  const scopeOf = (user: ProfileDto): UserScope => ({ organizationId: user.organizationId, userId: user.id });

  // Who may read these is the access policy's User field guard (connections, tradelines are personal).
  async function connectionsOf(user: ProfileDto, rawInput: unknown): Promise<Page<ConnectionDto>> {
    const { first, after, ...filter } = parseInput(connectionsInputSchema, rawInput, ['input']);
    return deps.connections.page(scopeOf(user), filter, { first, after }, toConnectionDto);
  }

  async function tradelinesOf(user: ProfileDto, rawInput: unknown): Promise<Page<TradelineDto>> {
    const { first, after, ...filter } = parseInput(tradelinesInputSchema, rawInput, ['input']);
    return deps.tradelines.page(scopeOf(user), filter, { first, after }, toTradelineDto);
  }

  return { organizationUser, recordConnection, recordTradeline, connectionsOf, tradelinesOf };
}

export type FinancialDataService = ReturnType<typeof createFinancialDataService>;
