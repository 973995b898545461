/**
 * One errors module for the whole product. Every error has a stable code that is never reused
 * (like fastify's FST_ERR_*); `UserError`s are the user's to fix and are printed without a stack.
 */

/** Codes in use. Add new ones at the end; never renumber or reuse one. */
export const ErrorCode = {
  CONFIG_INVALID: 'HEIR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'HEIR_CONFIG_UNREADABLE',
  USAGE: 'HEIR_USAGE',
  NATS_UNREACHABLE: 'HEIR_NATS_UNREACHABLE',
  STORE_LOCKED: 'HEIR_STORE_LOCKED',
  STORE_READ_ONLY: 'HEIR_STORE_READ_ONLY',
  STORE_OPEN: 'HEIR_STORE_OPEN',
  SCHEMA_MISMATCH: 'HEIR_SCHEMA_MISMATCH',
  INPUT_MALFORMED: 'HEIR_INPUT_MALFORMED',
  INPUT_UNREADABLE: 'HEIR_INPUT_UNREADABLE',
  OPERATOR_FAILED: 'HEIR_OPERATOR_FAILED',
  MODEL_INVALID: 'HEIR_MODEL_INVALID',
  FEATURES_MISSING: 'HEIR_FEATURES_MISSING',
  DATASET_NOT_FOUND: 'HEIR_DATASET_NOT_FOUND',
  BUS_CLOSED: 'HEIR_BUS_CLOSED',
  UNKNOWN_OPERATOR: 'HEIR_UNKNOWN_OPERATOR',
  LAB_FAILED: 'HEIR_LAB_FAILED',
  LAB_TOOL_MISSING: 'HEIR_LAB_TOOL_MISSING',
  NOTEBOOK_NOT_FOUND: 'HEIR_NOTEBOOK_NOT_FOUND',
  NOTEBOOK_FAILED: 'HEIR_NOTEBOOK_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: a message for humans, a stable code for programs, and the underlying cause. */
export class HeirError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HeirError';
    this.code = code;
  }
}

/** An error the user can fix (bad flag, bad config, unreachable server): printed without a stack. */
export class UserError extends HeirError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'UserError';
  }
}

/** Bad configuration: names the key and what is wrong with it. */
export class ConfigError extends UserError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CONFIG_INVALID, message, options);
    this.name = 'ConfigError';
  }
}

/** A record or file that cannot be parsed; the runner dead-letters it with this reason. */
export class InputError extends HeirError {
  /** Which input (file, subject, exporter) the bad record came from. */
  readonly input: string;
  constructor(input: string, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.INPUT_MALFORMED, `${input}: ${message}`, options);
    this.name = 'InputError';
    this.input = input;
  }
}

/** True for errors whose message alone is enough for the user (no stack trace). */
export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** The message of any thrown value, for logs and dead-letter reasons. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
