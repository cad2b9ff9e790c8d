// The logger lives in services/log.ts (one module for every service); ingest's modules import it from here.
export { createLogger, errorFields, type Logger, type LogLevel } from '../log.ts';
