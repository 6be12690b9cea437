import { startTracing } from '@launchpad/telemetry';

// Imported first by main.ts, so that everything after it runs inside the tracer.
startTracing('apps');
