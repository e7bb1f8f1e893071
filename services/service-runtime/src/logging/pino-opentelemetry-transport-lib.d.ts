// pino-opentelemetry-transport ships the types of its lib/ modules under types/.
declare module 'pino-opentelemetry-transport/lib/opentelemetry-mapper' {
  export * from 'pino-opentelemetry-transport/types/opentelemetry-mapper';
}
declare module 'pino-opentelemetry-transport/lib/otlp-logger-shim' {
  export * from 'pino-opentelemetry-transport/types/otlp-logger-shim';
}
