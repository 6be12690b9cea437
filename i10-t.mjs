import { connect } from '@nats-io/transport-node';
const t0 = Date.now();
try {
  const nc = await connect({ servers: ['127.0.0.1:14299'], user: 'a', pass: process.argv[2], waitOnFirstConnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  console.log('connected');
  (async () => { for await (const s of nc.status()) console.log('status', s.type, String(s.error ?? s.data ?? '')); })();
  nc.closed().then((e) => console.log('closed', String(e), Date.now() - t0));
} catch (e) { console.log('rejected', e.name, e.message, e.constructor.name, e.code, Date.now() - t0); }
setTimeout(() => process.exit(0), 12000);
