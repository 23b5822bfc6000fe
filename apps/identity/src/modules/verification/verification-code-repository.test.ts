import type mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '@usergraph/mongo';
import { recordFilters, startTestStore, uniqueDatabaseName, type EmbeddedStore } from '@usergraph/mongo/testing';
import { codeId, createVerificationCodeRepository, type VerificationCodeRepository } from './verification-code-repository.js';

describe('verification code repository', () => {
  let store: EmbeddedStore;
  let conn: mongoose.Connection;
  let codes: VerificationCodeRepository;
  const put = async (userId: string, expiresAt: Date) => {
    const _id = codeId('email-verification', 'org1', userId);
    await codes.put({
      _id,
      organizationId: 'org1',
      userId,
      purpose: 'email-verification',
      codeHash: 'h',
      attempts: 0,
      expiresAt,
      createdAt: new Date(),
    });
    return _id;
  };

  beforeAll(async () => {
    store = await startTestStore();
    conn = await connectDatabase({ uri: store.uri, dbName: uniqueDatabaseName('codes'), appName: 'identity-test' });
    codes = createVerificationCodeRepository(conn);
  });
  afterAll(async () => {
    await conn?.close();
    await store?.stop();
  });

  it('takeAttempt: of 20 concurrent attempts exactly 5 get the code, by _id only', async () => {
    const id = await put('u1', new Date(Date.now() + 600_000));
    const recorder = recordFilters(conn, ['verification_codes']);
    const results = await Promise.all(Array.from({ length: 20 }, () => codes.takeAttempt(id, 5, new Date())));
    recorder.stop();
    expect(results.filter((r) => r !== null)).toHaveLength(5);
    expect(recorder.scans()).toEqual([]);
    expect(await codes.takeAttempt(id, 5, new Date())).toBeNull();
  });

  it('takeAttempt: an expired or unknown code is never returned', async () => {
    const id = await put('u2', new Date(Date.now() - 1));
    expect(await codes.takeAttempt(id, 5, new Date())).toBeNull();
    expect(await codes.takeAttempt(codeId('password-reset', 'org1', 'u2'), 5, new Date())).toBeNull();
  });
});
