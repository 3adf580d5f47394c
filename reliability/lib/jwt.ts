import { createHmac } from 'node:crypto';

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

export function decodeJwt(token: string): DecodedJwt {
  const [h, p] = token.split('.');
  if (!h || !p) throw new Error('not a JWT');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

export function signHs256(
  payload: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * Tokens an attacker could bring, all derived from a real one: each must be refused with 401.
 * secret is the server's own (to forge an expired or not-yet-valid token that is otherwise valid).
 */
export function forgedTokens(real: string, secret: string): Record<string, string> {
  const { payload } = decodeJwt(real);
  const now = Math.floor(Date.now() / 1000);
  const [h, p] = real.split('.') as [string, string, string];
  const admin = { ...payload, role: 'admin' };
  return {
    expired: signHs256({ ...payload, iat: now - 7200, exp: now - 3600 }, secret),
    'not yet valid': signHs256({ ...payload, iat: now, nbf: now + 3600, exp: now + 7200 }, secret),
    'wrong signature': signHs256(payload, `${secret}-not-the-secret`),
    'alg none': `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(admin))}.`,
    'alg none, signature kept': `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.${real.split('.')[2]}`,
    'HS512 header': signHs256(payload, secret, { alg: 'HS512', typ: 'JWT' }),
    // Signed with the real secret, but not shaped like the tokens the API issues.
    'no iss': signHs256({ ...payload, iss: undefined }, secret),
    'no aud': signHs256({ ...payload, aud: undefined }, secret),
    'another iss and aud': signHs256({ ...payload, iss: 'elsewhere', aud: 'elsewhere' }, secret),
    'no iat': signHs256({ ...payload, iat: undefined }, secret),
    'typ at+jwt': signHs256(payload, secret, { alg: 'HS256', typ: 'at+jwt' }),
    'no typ': signHs256(payload, secret, { alg: 'HS256' }),
    'lifetime of ten years': signHs256(
      { ...payload, iat: now, exp: now + 10 * 365 * 86_400 },
      secret,
    ),
    truncated: real.slice(0, -5),
    'two parts': `${h}.${p}`,
    garbage: 'not-a-token',
    empty: '',
    // A token whose payload already says admin would be unchanged: only a customer's is raised.
    ...(payload.role === 'admin'
      ? {}
      : {
          'role raised to admin, signature kept': `${h}.${b64url(JSON.stringify(admin))}.${real.split('.')[2]}`,
        }),
  };
}
