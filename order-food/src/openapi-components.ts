/**
 * Named schemas for the OpenAPI document: every schema of a route with an $id (the model's
 * Product, Order, User …, the API's Problem) is replaced by a reference to
 * components.schemas[$id], so generated clients get named types. @fastify/swagger names only the
 * nested ones, not a route's body or response itself, hence this pass over the route schemas.
 */

type Json = unknown;

export class SchemaComponents {
  readonly schemas: Record<string, Json> = {};
  private readonly texts = new Map<string, string>();

  /** A copy of a route's schema with each named subschema replaced by its reference. */
  reference(schema: Json): Json {
    if (Array.isArray(schema)) return schema.map((s) => this.reference(s));
    if (schema === null || typeof schema !== 'object') return schema;
    const { $id, ...rest } = schema as Record<string, Json>;
    const copy: Record<string, Json> = {};
    // Instances in examples and defaults are data, not schemas: copied as they are.
    for (const [key, value] of Object.entries(rest))
      copy[key] = key === 'examples' || key === 'default' ? value : this.reference(value);
    if (typeof $id !== 'string' || $id.startsWith('#')) return copy;
    const text = JSON.stringify(copy);
    const known = this.texts.get($id);
    // Two different schemas under one name would give clients a wrong type.
    if (known !== undefined && known !== text)
      throw new Error(`two different schemas have the $id ${$id}`);
    this.texts.set($id, text);
    this.schemas[$id] = copy;
    return { $ref: `#/components/schemas/${$id}` };
  }
}
