import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { makeDirectory } from '@order-food/platform/directories';
import { OperationalError } from '@order-food/platform/errors';
import type { OrderStatus } from '@order-food/platform/model';
import { dataFiles } from './dataset.js';

export interface GenerateOptions {
  out: string;
  products: number;
  users: number;
  orders: number;
  /** The same seed writes the same files, so the same content hash. */
  seed: number;
}

export interface GenerateResult {
  out: string;
  products: number;
  users: number;
  orders: number;
  orderItems: number;
}

/** mulberry32: small, fast and deterministic; not for anything secret. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const categories = [
  ['PIZZA', 'pizza', ['Margherita', 'Diavola', 'Funghi', 'Capricciosa', 'Calzone']],
  ['BURGER', 'burgers', ['Cheeseburger', 'Chicken Burger', 'Veggie Burger', 'Smash Burger']],
  ['SUSHI', 'sushi', ['Salmon Roll', 'Tuna Nigiri', 'Dragon Roll', 'Temaki', 'Sashimi']],
  ['PASTA', 'pasta', ['Carbonara', 'Bolognese', 'Pesto', 'Arrabbiata', 'Lasagna']],
  ['SALAD', 'salads', ['Caesar', 'Greek Salad', 'Poke Bowl', 'Caprese']],
  ['SIDE', 'sides', ['Fries', 'Onion Rings', 'Garlic Bread', 'Wings', 'Edamame']],
  ['DESSERT', 'desserts', ['Tiramisu', 'Brownie', 'Cheesecake', 'Gelato', 'Mochi']],
  ['DRINK', 'drinks', ['Lemonade', 'Iced Tea', 'Cola', 'Espresso', 'Pale Ale']],
] as const;
const styles = ['Classic', 'Spicy', 'Smoky', 'House', 'Garden', 'Truffle', 'Lemon', 'Double'];
const firstNames = ['Ana', 'Ben', 'Chen', 'Dara', 'Eli', 'Fatima', 'Gus', 'Hana', 'Ivan', 'Jo'];
const lastNames = ['Silva', 'Kim', 'Okoro', 'Novak', 'Haddad', 'Lund', 'Moreau', 'Patel'];
// A weight for every status of the model: a new status does not compile until it has one.
const statusWeights: Record<OrderStatus, number> = {
  delivered: 0.6,
  cancelled: 0.08,
  pending: 0.08,
  confirmed: 0.08,
  preparing: 0.08,
  out_for_delivery: 0.08,
};
const statuses = Object.entries(statusWeights) as [OrderStatus, number][];
const fixedUsers = [
  { email: 'admin@example.com', name: 'Avery Admin', role: 'admin' },
  { email: 'alice@example.com', name: 'Alice Martin', role: 'customer' },
  { email: 'bob@example.com', name: 'Bob Nguyen', role: 'customer' },
] as const;
const baseTime = Date.parse('2026-01-01T00:00:00Z');
const yearMs = 365 * 24 * 3600 * 1000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Writes one line, waiting when the stream's buffer is full: memory stays flat for any size. */
async function writeLine(stream: WriteStream, value: unknown): Promise<void> {
  if (!stream.write(`${JSON.stringify(value)}\n`)) await once(stream, 'drain');
}

async function close(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

/** A synthetic data set in the default data set's format, streamed to disk. */
export async function generateDataSet(options: GenerateOptions): Promise<GenerateResult> {
  const rnd = random(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  try {
    makeDirectory(options.out);
  } catch (err) {
    throw new OperationalError(
      `generate --out ${options.out}: the directory cannot be made: ${(err as Error).message}`,
    );
  }

  const skus: string[] = [];
  const products = createWriteStream(join(options.out, dataFiles.products));
  for (let i = 1; i <= options.products; i++) {
    const [prefix, category, dishes] = categories[(i - 1) % categories.length]!;
    const sku = `GEN-${prefix}-${pad(i, 7)}`;
    skus.push(sku);
    await writeLine(products, {
      sku,
      name: `${pick(styles)} ${pick(dishes)} No. ${i}`,
      category,
      price_cents: 250 + Math.floor(rnd() * 550) * 5,
      description: `Generated menu item ${i}`,
      ...(rnd() < 0.05 ? { available: false } : {}),
    });
  }
  await close(products);

  const emails: string[] = [];
  const users = createWriteStream(join(options.out, dataFiles.users));
  for (let i = 1; i <= options.users; i++) {
    const fixed = fixedUsers[i - 1];
    const user = fixed ?? {
      email: `user${pad(i, 7)}@example.com`,
      name: `${pick(firstNames)} ${pick(lastNames)}`,
      role: 'customer',
    };
    emails.push(user.email);
    await writeLine(users, user);
  }
  await close(users);

  let orderItems = 0;
  const orders = createWriteStream(join(options.out, dataFiles.orders));
  for (let i = 1; i <= options.orders; i++) {
    const lines = 1 + Math.floor(rnd() * 4);
    const items = [];
    for (let l = 0; l < lines; l++)
      items.push({ sku: pick(skus), quantity: 1 + Math.floor(rnd() * 3) });
    orderItems += lines;
    let r = rnd();
    let status: OrderStatus = 'delivered';
    for (const [s, weight] of statuses) {
      if (r < weight) {
        status = s;
        break;
      }
      r -= weight;
    }
    await writeLine(orders, {
      external_ref: `GEN-ORDER-${pad(i, 8)}`,
      user_email: pick(emails),
      status,
      created_at: new Date(baseTime + Math.floor(rnd() * yearMs)).toISOString(),
      items,
    });
  }
  await close(orders);
  return {
    out: options.out,
    products: options.products,
    users: options.users,
    orders: options.orders,
    orderItems,
  };
}
