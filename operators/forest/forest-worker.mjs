// Entry of a forest training worker: registers the TypeScript loader (workers do not inherit it),
// then runs the worker module.
import { register } from 'tsx/esm/api';

register();
await import('./forest-worker.ts');
