import { trace } from '@opentelemetry/api';

export const tracer = trace.getTracer('@order-food/database-migration');
