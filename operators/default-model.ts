/** Where the shipped default model lives, so `heir run` and `heir demo` classify out of the box. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of the shipped default model, or undefined when it has not been built. */
export function defaultModelPath(): string | undefined {
  const path = fileURLToPath(new URL('../models/default.heir', import.meta.url));
  return existsSync(path) ? path : undefined;
}
