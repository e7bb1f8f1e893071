/** The process: config, listen, signals, shutdown (all in service-runtime's runService). */
import { runService } from '@meshloop/service-runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { createStorage } from './storage';

runService(loadConfig, (deps) => createApp({ ...deps, storage: createStorage(deps.config, deps) }));
