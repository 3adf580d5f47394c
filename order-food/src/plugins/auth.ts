import type { Queryable } from '@order-food/platform/database';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { forbidden, unauthorized } from '../problem.js';
import { createTokenService, type Principal, type TokenService } from '../token.js';
import { currentRole } from '../user-repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService;
    /**
     * onRequest hook: a valid bearer token of a user who still exists is required (checked before
     * the body is read); the principal's role is the user's role now, not the token's.
     */
    authenticate: AuthHook;
    /** onRequest hook: as authenticate, and the user must be an admin now. */
    requireAdmin: AuthHook;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Callback hooks, not async ones: a promise and a microtask less on every request behind them. */
type AuthHook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

export interface AuthOptions {
  db: Queryable;
  secret: string;
  ttlSeconds: number;
}

function claimsOf(request: FastifyRequest, tokens: TokenService): Principal {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('a bearer token is required (Authorization: Bearer TOKEN)');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized('the Authorization header must be "Bearer TOKEN"');
  try {
    return tokens.verify(match[1]);
  } catch {
    throw unauthorized('the bearer token is invalid or expired');
  }
}

export default fp<AuthOptions>(
  async (app, options) => {
    const { db } = options;
    const tokens = createTokenService(options.secret, options.ttlSeconds);
    app.decorate('tokens', tokens);
    app.decorateRequest('principal', null);
    // A token is good for a day, authority is not: a deleted user's token stops working and a
    // demoted admin loses admin rights on the next request. One primary-key read per request.
    const current = async (claims: Principal): Promise<Principal> => {
      const role = await currentRole(db, claims.userId);
      if (!role) throw unauthorized('the user of this bearer token no longer exists');
      return { userId: claims.userId, role };
    };
    const authenticate: AuthHook = (request, _reply, done) => {
      let claims: Principal;
      try {
        claims = claimsOf(request, tokens);
      } catch (err) {
        done(err as Error);
        return;
      }
      current(claims).then(
        (principal) => {
          request.principal = principal;
          done();
        },
        (err: Error) => done(err),
      );
    };
    const requireAdmin: AuthHook = (request, reply, done) => {
      authenticate(request, reply, (err) => {
        if (err) done(err);
        else if (request.principal?.role !== 'admin') done(forbidden('this action needs an admin'));
        else done();
      });
    };
    app.decorate('authenticate', authenticate);
    app.decorate('requireAdmin', requireAdmin);
  },
  { name: 'auth', fastify: '5.x' },
);

/** The caller of a route behind authenticate. */
export function callerOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('a bearer token is required');
  return request.principal;
}
