// The benchmark's session program (tools/testing/programs/session-program.mjs) as JupyterHub's
// single-user server: JupyterHub passes the port as `--port=N` and the prefix it polls for
// readiness in JUPYTERHUB_SERVICE_PREFIX; the program reads both from its own variables.
const port = process.argv.find((a) => a.startsWith('--port='))?.slice('--port='.length) ?? new URL(process.env.JUPYTERHUB_SERVICE_URL ?? 'http://127.0.0.1:8888').port;
process.env.LAUNCHPAD_PORT = port;
process.env.LAUNCHPAD_BASE_URL = process.env.JUPYTERHUB_SERVICE_PREFIX ?? '/';
await import('../../testing/programs/session-program.mjs');
