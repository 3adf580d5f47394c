import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Database } from '@order-food/platform/database';
import { callerOf } from '../plugins/auth.js';
import { notFound } from '../problem.js';
import { IdParams, json, problems, User, UserCreate } from '../schemas.js';
import { createUser, getUser } from '../user-repository.js';

export interface UserRoutesOptions {
  db: Database;
}

const bearer = [{ bearerAuth: [] }];

/** Users: a customer sees only their own record; admins see and create any. */
const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, { db }) => {
  app.get(
    '/api/users/me',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getCurrentUser',
        summary: 'The caller',
        description:
          'The user the bearer token names, as stored now (the role is the current one, not the one in the token). A quick way to check a token.',
        tags: ['users'],
        security: bearer,
        response: { 200: json(User, 'The caller'), ...problems(401, 404) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const user = await getUser(db, caller.userId);
      if (!user) throw notFound('the user of this token no longer exists');
      return user;
    },
  );

  app.get(
    '/api/users/:id',
    {
      onRequest: app.authenticate,
      schema: {
        operationId: 'getUser',
        summary: 'One user (the caller, or any user for admins)',
        description:
          "Customers see only their own record: another user's id answers 404, as a missing one does, so ids reveal nothing.",
        tags: ['users'],
        security: bearer,
        params: IdParams,
        response: { 200: json(User, 'The user'), ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { id } = request.params;
      // Another customer's record answers exactly like a missing one: ids reveal nothing.
      if (caller.role !== 'admin' && caller.userId !== id)
        throw notFound(`user ${id} does not exist`);
      const user = await getUser(db, id);
      if (!user) throw notFound(`user ${id} does not exist`);
      return user;
    },
  );

  app.post(
    '/api/users',
    {
      onRequest: app.requireAdmin,
      schema: {
        operationId: 'createUser',
        summary: 'Create a user (admin)',
        description:
          'Admins only. The email is stored in lower case and is unique (409 if taken); role defaults to customer.',
        tags: ['users'],
        security: bearer,
        body: UserCreate,
        response: {
          201: json(User, 'The user created'),
          ...problems(400, 401, 403, 409, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const user = await createUser(db, request.body);
      return reply.code(201).header('location', `/api/users/${user.id}`).send(user);
    },
  );
};

export default userRoutes;
