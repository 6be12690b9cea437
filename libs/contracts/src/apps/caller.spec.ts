import { createHmac } from 'node:crypto';
import { APP_CALLER_HEADER, APP_CALLER_SIGNATURE_HEADER, signCaller, verifyCaller, verifyGatewayRequest } from './caller.js';

const SECRET = 'a-secret-shared-by-gateway-and-apps-0123456789';
const dana = { userId: 'dana', admin: false };
const NOW = 1_760_000_000_000;

const headersOf = (signed: Record<string, string>) => ({ caller: signed[APP_CALLER_HEADER], signature: signed[APP_CALLER_SIGNATURE_HEADER] });

describe('the caller header between gateway and activator', () => {
  it('is HMAC-SHA256 keyed by the secret\'s UTF-8 bytes, whichever secret was used last (the key is kept between calls)', () => {
    const other = 'ein-geheimnis-für-gateway-und-apps-0123456789';
    for (const secret of [SECRET, other, SECRET]) {
      const signed = signCaller(secret, dana, 'GET', '/a/lab-study/', NOW, '00112233445566778899aabb');
      const json = signed[APP_CALLER_HEADER]!;
      const expected = createHmac('sha256', secret).update(`${NOW}\n00112233445566778899aabb\nGET\n/a/lab-study/\n${json}`).digest('hex');
      expect(signed[APP_CALLER_SIGNATURE_HEADER]).toBe(`t=${NOW},n=00112233445566778899aabb,v1=${expected}`);
    }
  });

  it('names the caller when the gateway signed it for this request', () => {
    const signed = signCaller(SECRET, dana, 'GET', '/a/lab-study/reports?x=1', NOW);
    expect(verifyCaller(SECRET, headersOf(signed), 'get', '/a/lab-study/reports?x=1', NOW + 5_000)).toEqual(dana);
  });

  it('is nobody without a signature, as a forged header sent straight to the activator is', () => {
    const forged = { caller: JSON.stringify({ userId: 'dana', admin: true }), signature: undefined };
    expect(verifyCaller(SECRET, forged, 'GET', '/a/lab-study/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { ...forged, signature: `t=${NOW},n=0123456789abcdef,v1=${'0'.repeat(64)}` }, 'GET', '/a/lab-study/', NOW)).toBeNull();
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
    expect(verifyCaller(SECRET, signed, 'GET', '/a/lab-study/', NOW + 29_000)).toEqual(dana);
    expect(verifyCaller(SECRET, signed, 'GET', '/a/lab-study/', NOW + 31_000)).toBeNull();
    expect(verifyCaller(SECRET, signed, 'GET', '/a/lab-study/', NOW - 31_000)).toBeNull();
  });

  it('tells a request the gateway signed for an anonymous visitor from one it did not sign', () => {
    const anonymous = headersOf(signCaller(SECRET, null, 'GET', '/a/lab-study/', NOW));
    expect(verifyGatewayRequest(SECRET, anonymous, 'GET', '/a/lab-study/', NOW)).toMatchObject({ caller: null });
    expect(verifyGatewayRequest(SECRET, { caller: 'null', signature: undefined }, 'GET', '/a/lab-study/', NOW)).toBeNull();
    expect(verifyGatewayRequest(SECRET, anonymous, 'GET', '/a/other/', NOW)).toBeNull();
  });

  it('gives every signature its own nonce, so the activator can refuse a replay', () => {
    const a = verifyGatewayRequest(SECRET, headersOf(signCaller(SECRET, dana, 'GET', '/a/x/', NOW)), 'GET', '/a/x/', NOW);
    const b = verifyGatewayRequest(SECRET, headersOf(signCaller(SECRET, dana, 'GET', '/a/x/', NOW)), 'GET', '/a/x/', NOW);
    expect(a?.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a?.nonce).not.toBe(b?.nonce);
  });

  it('is nobody when a signed header is not a caller, and never throws', () => {
    const nonce = '0123456789abcdef';
    const sign = (caller: string) => `t=${NOW},n=${nonce},v1=${createHmac('sha256', SECRET).update(`${NOW}\n${nonce}\nGET\n/\n${caller}`).digest('hex')}`;
    expect(verifyCaller(SECRET, { caller: JSON.stringify(dana), signature: sign(JSON.stringify(dana)) }, 'GET', '/', NOW)).toEqual(dana);
    expect(verifyCaller(SECRET, { caller: '{', signature: sign('{') }, 'GET', '/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { caller: '{"userId":""}', signature: sign('{"userId":""}') }, 'GET', '/', NOW)).toBeNull();
    expect(verifyCaller(SECRET, { caller: ['a', 'b'], signature: sign('a') }, 'GET', '/', NOW)).toBeNull();
  });
});
