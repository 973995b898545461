/**
 * HEIR's public API: the names a program embedding HEIR may rely on. Everything else is internal
 * (tests, benchmarks and notebooks use `pipeline/internal.ts`).
 */
export type { Operator, OperatorDescriptor, OperatorContext, Tables, Bus, BusMessage, BatchSource, BatchSink, SourceBatch, DeadLetter, Parser, ParseOptions, ParseOutput } from './types.ts';
export { HeirError, UserError, ConfigError, InputError, ErrorCode } from './errors.ts';
export { FLOW_SCHEMA, FLOW_SCHEMA_VERSION, FLOW_COLUMNS, FlowBatchBuilder, flowBatch, flowRows, type FlowRow, type FlowArrow } from './flow-schema.ts';
export { communityId, flowId } from './flow-id.ts';
export { MemoryBus } from './bus-memory.ts';
export { NatsBus } from './bus-nats.ts';
export { Store, openStore } from './store.ts';
export { Runner, type RunnerCounters } from './runner.ts';
export { loadConfig, type PipelineConfig } from './config.ts';
export { openSite, runSite, type Site } from './site.ts';
export { fileSource, readChunks } from './sources.ts';
export { loadOperators, OPERATOR_NAMES } from '../operators/index.ts';
export { parserFor, FORMATS } from '../operators/parsers.ts';
