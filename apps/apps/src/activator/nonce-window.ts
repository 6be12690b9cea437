/**
 * Each signed request's nonce is taken once: the gateway's signature is good for a short window,
 * and within it a copy of a request (captured, say, by something on the path) is refused. Nonces
 * are forgotten once their window has passed, when the signature's time alone refuses them.
 */
export class NonceWindow {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly windowMs: number) {}

  /** True the first time a nonce signed at `at` is seen; false for a replay. */
  firstUse(nonce: string, at: number, now = Date.now()): boolean {
    // Two generations, each at least a window long: whatever could still be replayed is in one of them.
    if (now - this.rotatedAt > 2 * this.windowMs) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    if (this.current.has(nonce) || this.previous.has(nonce)) return false;
    this.current.set(nonce, at);
    return true;
  }
}
