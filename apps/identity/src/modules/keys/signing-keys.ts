import { randomUUID } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type CryptoKey } from 'jose';
import { ACCESS_TOKEN_ALGORITHM, type SecretBox } from '@usergraph/service-kit';

interface SigningKeyDoc {
  /** `period-<n>`: one key per rotation period, and the _id makes replicas agree on it. */
  _id: string;
  period: number;
  kid: string;
  publicJwk: JWK;
  /** The private JWK, sealed with AES-256-GCM. */
  sealedPrivateJwk: string;
  createdAt: Date;
}

const signingKeySchema = new Schema<SigningKeyDoc>(
  {
    _id: String,
    period: { type: Number, required: true, index: true },
    kid: { type: String, required: true },
    publicJwk: { type: Object, required: true },
    sealedPrivateJwk: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'signing_keys' },
);

export interface TokenClaims {
  sub: string;
  org: string;
  typ: 'user' | 'application';
  sid?: string;
  scope?: string;
}

/**
 * Ed25519 signing keys. Time is cut into rotation periods; the first replica
 * to need a period's key creates it (the period is the _id, which settles
 * races). The JWKS publishes the current and the previous key, so tokens
 * signed just before a rotation still verify.
 */
export function createSigningKeys(opts: {
  conn: Connection;
  box: SecretBox;
  rotationHours: number;
  issuer: string;
  audience: string;
  now?: () => number;
}) {
  const SigningKey = opts.conn.model<SigningKeyDoc>('SigningKey', signingKeySchema);
  const now = opts.now ?? Date.now;
  const periodMs = opts.rotationHours * 3_600_000;
  let cached: { period: number; kid: string; privateKey: CryptoKey; jwks: { keys: JWK[] } } | undefined;

  async function createForPeriod(period: number): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' };
    const sealedPrivateJwk = opts.box.encrypt(JSON.stringify(await exportJWK(privateKey)));
    try {
      await SigningKey.create({ _id: `period-${period}`, period, kid, publicJwk, sealedPrivateJwk, createdAt: new Date(now()) });
    } catch (err) {
      // Another replica created this period's key first: use theirs.
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }

  async function current() {
    const period = Math.floor(now() / periodMs);
    if (cached?.period === period) return cached;
    let doc = await SigningKey.findOne({ _id: `period-${period}` })
      .lean<SigningKeyDoc>()
      .exec();
    if (!doc) {
      await createForPeriod(period);
      doc = await SigningKey.findOne({ _id: `period-${period}` })
        .lean<SigningKeyDoc>()
        .exec();
    }
    if (!doc) throw new Error('signing key could not be created');
    const previous = await SigningKey.findOne({ period: { $lt: period } })
      .sort({ period: -1 })
      .lean<SigningKeyDoc>()
      .exec();
    const privateKey = (await importJWK(JSON.parse(opts.box.decrypt(doc.sealedPrivateJwk)) as JWK, ACCESS_TOKEN_ALGORITHM)) as CryptoKey;
    cached = {
      period,
      kid: doc.kid,
      privateKey,
      jwks: { keys: [doc.publicJwk, ...(previous ? [previous.publicJwk] : [])] },
    };
    return cached;
  }

  return {
    async sign(claims: TokenClaims, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
      const key = await current();
      const issuedAt = Math.floor(now() / 1000);
      const exp = issuedAt + ttlSeconds;
      const { sub, ...rest } = claims;
      const token = await new SignJWT({ ...rest })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(key.privateKey);
      return { token, expiresAt: exp * 1000 };
    },
    jwks: async () => (await current()).jwks,
  };
}

export type SigningKeys = ReturnType<typeof createSigningKeys>;
