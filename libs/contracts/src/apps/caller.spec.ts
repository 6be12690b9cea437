import { createHmac } from 'node:crypto';
import { APP_CALLER_HEADER, APP_CALLER_SIGNATURE_HEADER, signCaller, verifyCaller } from './caller.js';

const SECRET = 'a-secret-shared-by-gateway-and-apps-0123456789';
const dana = { userId: 'dana', admin: false };
const NOW = 1_760_000_000_000;

const headersOf = (signed: Record<string, string>) => ({ caller: signed[APP_CALLER_HEADER], signature: signed[APP_CALLER_SIGNATURE_HEADER] });

describe('the caller header between gateway and activator', () => {
  it('names the caller when the gateway signed it for this request', () => {
    const signed = signCaller(SECRET, dana, 'GET', '/a/lab-study/reports?x=1', NOW);
    expect(verifyCaller(SECRET, headersOf(signed), 'get', '/a/lab-study/reports?x=1', NOW + 5_000)).toEqual(dana);
  });

  it('is nobody without a signature, as a forged header sent straight to the activator is', () => {
    const forged = { caller: JSON.stringify({ userId: 'dana', admin: true }), signature: undefined };
    expect(verifyCaller(SECRET, forged, 'GET', '/a/lab-study/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { ...forged, signature: `t=${NOW},v1=${'0'.repeat(64)}` }, 'GET', '/a/lab-study/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { ...forged, signature: 'nonsense' }, 'GET', '/a/lab-study/', NOW)).toBeNull();
  });

  it('is nobody when the caller, method or path differ from what was signed, or with another secret', () => {
    const signed = headersOf(signCaller(SECRET, dana, 'GET', '/a/lab-study/', NOW));
    expect(verifyCaller(SECRET, { ...signed, caller: JSON.stringify({ userId: 'dana', admin: true }) }, 'GET', '/a/lab-study/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, signed, 'POST', '/a/lab-study/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, signed, 'GET', '/a/other/', NOW)).toBeNull();
    expect(verifyCaller(`${SECRET}-other`, signed, 'GET', '/a/lab-study/', NOW)).toBeNull();
  });

  it('is nobody once the signature is older (or newer) than the allowed clock skew', () => {
    const signed = headersOf(signCaller(SECRET, dana, 'GET', '/a/lab-study/', NOW));
    expect(verifyCaller(SECRET, signed, 'GET', '/a/lab-study/', NOW + 59_000)).toEqual(dana);
    expect(verifyCaller(SECRET, signed, 'GET', '/a/lab-study/', NOW + 61_000)).toBeNull();
    expect(verifyCaller(SECRET, signed, 'GET', '/a/lab-study/', NOW - 61_000)).toBeNull();
  });

  it('is nobody when a signed header is not a caller, and never throws', () => {
    const sign = (caller: string) => `t=${NOW},v1=${createHmac('sha256', SECRET).update(`${NOW}\nGET\n/\n${caller}`).digest('hex')}`;
    expect(verifyCaller(SECRET, { caller: JSON.stringify(dana), signature: sign(JSON.stringify(dana)) }, 'GET', '/', NOW)).toEqual(dana);
    expect(verifyCaller(SECRET, { caller: '{', signature: sign('{') }, 'GET', '/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { caller: '{"userId":""}', signature: sign('{"userId":""}') }, 'GET', '/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { caller: ['a', 'b'], signature: sign('a') }, 'GET', '/', NOW)).toBeNull();
  });
});
