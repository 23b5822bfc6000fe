import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

const SECRETS = {
  password: 'P@ssw0rd-never-logged-1',
  authorization: 'Bearer eyJ-never-logged-2',
  clientSecret: 'secret_never-logged-3',
  refreshToken: '0123456789abcdef01234567.never-logged-4',
  jwt: 'eyJhbGciOiJFZERTQSJ9.never-logged-5',
  nationalId: '85061512345-never-logged-6',
};

describe('createLogger', () => {
  it('writes JSON lines with service, level label and ISO time', () => {
    const { lines, destination } = capture();
    createLogger({ service: 'svc', level: 'info', destination }).info({ userId: 'u-1' }, 'hello');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ service: 'svc', level: 'info', userId: 'u-1', msg: 'hello' });
    expect(new Date(entry.time as string).toISOString()).toBe(entry.time);
  });

  it('never writes secret values, at the top level or one level down', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'svc', level: 'debug', destination });
    logger.info({ ...SECRETS, userId: 'visible-user' }, 'top level');
    logger.info({ input: { ...SECRETS }, headers: { authorization: SECRETS.authorization }, email: 'visible@example.com' }, 'nested');
    logger.info({ req: { headers: { authorization: SECRETS.authorization, cookie: 'sid=never-logged-7' } } }, 'request');
    logger.warn({ body: { variables: { password: SECRETS.password } } }, 'variables');
    logger.child({ password: SECRETS.password }).info('child bindings');

    const out = lines.join('');
    expect(lines).toHaveLength(5);
    for (const [name, value] of Object.entries(SECRETS)) expect(out, name).not.toContain(value);
    expect(out).not.toContain('never-logged');
    // The shape stays: redacted values are replaced, and the rest is kept.
    expect(out).toContain('[redacted]');
    expect(out).toContain('visible-user');
    expect(out).toContain('visible@example.com');
    const nested = JSON.parse(lines[1]!) as { input: Record<string, unknown> };
    expect(nested.input.password).toBe('[redacted]');
  });

  it('respects the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'svc', level: 'warn', destination });
    logger.info('dropped');
    logger.warn('kept');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept']);
    const silent = capture();
    createLogger({ service: 'svc', level: 'silent', destination: silent.destination }).fatal('nothing');
    expect(silent.lines).toEqual([]);
  });

  it('an Error logged raw (under err, or as the first argument) keeps no stack and no URL password', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 'svc', level: 'info', destination });
    const failure = new Error('connect ECONNREFUSED mongodb://admin:hunter2@10.0.0.5/db');
    logger.error({ err: failure }, 'store down');
    logger.error(failure);
    logger.warn('cannot send to smtp://mailer:s3cret@mail.example:587');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toMatch(/hunter2|s3cret|"stack"|\\n\s+at /);
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({ err: { name: 'Error', message: 'connect ECONNREFUSED mongodb://REDACTED@10.0.0.5/db' } });
    expect(JSON.parse(lines[1]!)).toMatchObject({ msg: 'connect ECONNREFUSED mongodb://REDACTED@10.0.0.5/db' });
    expect(JSON.parse(lines[2]!)).toMatchObject({ msg: 'cannot send to smtp://REDACTED@mail.example:587' });
  });
});
