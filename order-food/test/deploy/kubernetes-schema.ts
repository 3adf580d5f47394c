/**
 * Validation of rendered manifests against the Kubernetes API schemas (kubernetes-models), plus a
 * strict unknown-field check: the API server drops an unknown field (a typo such as
 * `readOnlyRootFileSystem`) with at most a warning, so the schema check alone would pass it.
 * The known fields of each type are read from kubernetes-models' compiled validators.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Validates one object with kubernetes-models; throws with the object's kind and name. */
export async function validateWithModels(object: Manifest): Promise<void> {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : [undefined, object.apiVersion];
  const modulePath = group
    ? `kubernetes-models/${group}/${version}`
    : `kubernetes-models/${version}`;
  const module = (await import(modulePath)) as Record<string, ModelClass>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (err) {
    throw new Error(`${object.kind}/${object.metadata.name}: ${(err as Error).message}`);
  }
}

interface SchemaInfo {
  /** Known property → schema file of its value (undefined: a scalar, map or free-form value). */
  properties: Map<string, string | undefined>;
}

const cache = new Map<string, SchemaInfo | null>();

function functionBody(source: string, name: string): string | undefined {
  const start = source.indexOf(`function ${name}(`);
  if (start < 0) return undefined;
  const next = source.indexOf('function validate', start + 10);
  return source.slice(start, next < 0 ? undefined : next);
}

/** The schema file a validator function ends in, following wrappers and array loops. */
function resolveValidator(
  source: string,
  file: string,
  name: string,
  seen = new Set<string>(),
): string | undefined {
  if (seen.has(name)) return undefined;
  seen.add(name);
  const imported = new RegExp(`import\\{validate as ${name}\\}from"([^"]+)"`).exec(source);
  if (imported) return resolveImport(file, imported[1]!);
  const body = functionBody(source, name);
  if (!body) return undefined;
  for (const call of body.matchAll(/\b(validate\d+)\(/g)) {
    if (call[1] === name) continue;
    const found = resolveValidator(source, file, call[1]!, seen);
    if (found) return found;
  }
  return undefined;
}

function resolveImport(fromFile: string, specifier: string): string {
  if (specifier.startsWith('.')) return join(dirname(fromFile), specifier);
  // kubernetes-models' packages sit side by side in node_modules: resolving from here finds them.
  return fileURLToPath(import.meta.resolve(specifier));
}

function schemaInfo(file: string): SchemaInfo | null {
  if (cache.has(file)) return cache.get(file)!;
  const source = readFileSync(file.endsWith('.js') ? file : `${file}.js`, 'utf8');
  const main = /export const validate=(validate\d+)/.exec(source)?.[1];
  const body = main ? functionBody(source, main) : undefined;
  let info: SchemaInfo | null = null;
  if (body) {
    const properties = new Map<string, string | undefined>();
    for (const m of body.matchAll(/void 0!==data\.(\w+)&&\((validate\d+)\(/g)) {
      properties.set(m[1]!, resolveValidator(source, file, m[2]!));
    }
    for (const m of body.matchAll(/missingProperty:"(\w+)"/g)) {
      if (!properties.has(m[1]!)) properties.set(m[1]!, undefined);
    }
    // A validator that names no property is a map or a free-form object: nothing to check.
    if (properties.size > 0) info = { properties };
  }
  cache.set(file, info);
  return info;
}

function rootSchemaFile(object: Manifest): string {
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['core', object.apiVersion];
  const groupName = group!
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  const name = `IoK8sApi${groupName}${version![0]!.toUpperCase()}${version!.slice(1)}${object.kind}`;
  return fileURLToPath(import.meta.resolve(`kubernetes-models/_schemas/${name}`));
}

/** Every field of the object that the Kubernetes API does not define, as JSON paths. */
export function unknownFields(object: Manifest): string[] {
  const found: string[] = [];
  const walk = (value: unknown, file: string | undefined, path: string): void => {
    if (!file || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, file, `${path}[${i}]`);
      return;
    }
    const info = schemaInfo(file);
    if (!info) return;
    for (const [key, child] of Object.entries(value)) {
      if (!info.properties.has(key)) found.push(`${path}.${key}`);
      else walk(child, info.properties.get(key), `${path}.${key}`);
    }
  };
  walk(object, rootSchemaFile(object), `${object.kind}/${object.metadata.name}`);
  return found;
}
