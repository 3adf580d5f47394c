import { createSigner, createVerifier } from 'fast-jwt';
import type { RoleT } from './schemas.js';

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

/** HS256 bearer tokens carrying the user's id (sub) and role. */
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
    requiredClaims: ['sub', 'exp'],
    cache: 1000,
  });
  return {
    sign: (p) => signer({ sub: p.userId, role: p.role }),
    verify(token) {
      const claims = verifier(token) as { sub?: unknown; role?: unknown };
      if (typeof claims.sub !== 'string' || !uuid.test(claims.sub))
        throw new Error('token subject is not a user id');
      if (claims.role !== 'customer' && claims.role !== 'admin')
        throw new Error('token role is not valid');
      return { userId: claims.sub, role: claims.role };
    },
  };
}
