import type { RoleT } from '@order-food/platform/model';
import { createSigner, createVerifier } from 'fast-jwt';

export interface Principal {
  userId: string;
  role: RoleT;
}

const issuer = 'order-food';
const audience = 'order-food';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TokenService {
  sign(principal: Principal): string;
  /** The principal of a valid token; throws on a bad signature, expiry or malformed claims. */
  verify(token: string): Principal;
}

/**
 * HS256 bearer tokens carrying the user's id (sub) and role. Only tokens shaped like the ones this
 * service signs are accepted: typ JWT, our issuer and audience, and a lifetime (exp - iat) no longer
 * than ttlSeconds, so a leaked secret cannot mint tokens that outlive a rotation by years.
 */
export function createTokenService(secret: string, ttlSeconds: number): TokenService {
  const signer = createSigner({
    key: secret,
    algorithm: 'HS256',
    expiresIn: ttlSeconds * 1000,
    iss: issuer,
    aud: audience,
  });
  const verifier = createVerifier({
    key: secret,
    algorithms: ['HS256'],
    allowedIss: issuer,
    allowedAud: audience,
    requiredClaims: ['sub', 'exp', 'iat', 'iss', 'aud'],
    checkTyp: 'jwt',
    cache: 1000,
  });
  return {
    sign: (p) => signer({ sub: p.userId, role: p.role }),
    verify(token) {
      const claims = verifier(token) as {
        sub?: unknown;
        role?: unknown;
        iat?: unknown;
        exp?: unknown;
      };
      if (
        typeof claims.iat !== 'number' ||
        typeof claims.exp !== 'number' ||
        claims.exp - claims.iat > ttlSeconds
      )
        throw new Error('token lifetime is longer than this service issues');
      if (typeof claims.sub !== 'string' || !uuid.test(claims.sub))
        throw new Error('token subject is not a user id');
      if (claims.role !== 'customer' && claims.role !== 'admin')
        throw new Error('token role is not valid');
      return { userId: claims.sub, role: claims.role };
    },
  };
}
