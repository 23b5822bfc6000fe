import { Types, type Connection } from 'mongoose';
import { claim, findClaimOwner } from '@usergraph/mongo';
import { auditEvent } from '@usergraph/audit';
import { DomainError } from '@usergraph/service-kit';
import type { OrganizationDoc, OrganizationRepository } from './organization-repository.js';

export interface OrganizationDto {
  id: string;
  slug: string;
  name: string;
  status: 'ACTIVE' | 'SUSPENDED';
  selfSignup: boolean;
}

export const toOrganizationDto = (doc: OrganizationDoc): OrganizationDto => ({
  id: doc._id,
  slug: doc.slug,
  name: doc.name,
  status: doc.status,
  selfSignup: doc.selfSignup,
});

/** Slugs are global, so their claims use a fixed tenant segment. */
const GLOBAL = '-';
const SLUG_CLAIM = 'org-slug';

export function createOrganizationService(deps: {
  conn: Connection;
  organizations: OrganizationRepository;
  /** After an insert that carries its `organization.created` event: relays it, not awaited. */
  kickAudit: (organizationId: string) => void;
}) {
  const { organizations } = deps;

  /**
   * By the slug's claim, then by `_id`: two key reads. The claim, not the
   * (non-unique) `slug` index, is what makes a slug unique, so it decides.
   * Null while the claim's winner has not inserted its document yet.
   */
  async function findBySlug(slug: string): Promise<OrganizationDoc | null> {
    const id = await findClaimOwner(deps.conn, SLUG_CLAIM, GLOBAL, slug);
    return id ? organizations.findById(id) : null;
  }

  async function getBySlug(slug: string): Promise<OrganizationDto> {
    const doc = await findBySlug(slug);
    if (!doc)
      throw new DomainError('NOT_FOUND', `Organization "${slug}" does not exist`, [
        { path: ['organizationSlug'], message: 'does not name an organization' },
      ]);
    return toOrganizationDto(doc);
  }

  async function getById(id: string): Promise<OrganizationDto> {
    const doc = await organizations.findById(id);
    if (!doc) throw new DomainError('NOT_FOUND', 'Organization not found');
    return toOrganizationDto(doc);
  }

  /**
   * Creates the organization, or returns it when the slug exists already.
   * `created` tells the bootstrap CLI which case it was. The slug claim makes
   * two concurrent calls agree on one organization id.
   */
  async function ensure(input: {
    slug: string;
    name: string;
    selfSignup: boolean;
  }): Promise<{ organization: OrganizationDto; created: boolean }> {
    const id = new Types.ObjectId().toHexString();
    const outcome = await claim(deps.conn, { kind: SLUG_CLAIM, organizationId: GLOBAL, value: input.slug, ownerId: id });
    if (outcome === 'taken') {
      // The winner may still be inserting its document: wait for it briefly.
      for (let i = 0; i < 50; i++) {
        const existing = await findBySlug(input.slug);
        if (existing) return { organization: toOrganizationDto(existing), created: false };
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new DomainError('CONFLICT', `Organization "${input.slug}" is being created, retry`);
    }
    // The operator's (the bootstrap CLI, or `start`'s public organization): in the organization's own trail, with its insert.
    const event = auditEvent(
      { actor: { type: 'system', id: 'bootstrap' } },
      {
        action: 'organization.created',
        organizationId: id,
        target: { type: 'organization', id },
        outcome: 'success',
        key: [id, 'organization.created'],
      },
    );
    const doc = await organizations.insert({
      _id: id,
      slug: input.slug,
      name: input.name,
      status: 'ACTIVE',
      selfSignup: input.selfSignup,
      auditOutbox: [event],
    });
    deps.kickAudit(id);
    return { organization: toOrganizationDto(doc), created: true };
  }

  return { getBySlug, getById, ensure };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;
