/**
 * `$(VAR)` expansion of a container's command and args, exactly as Kubernetes does it
 * (kubernetes/third_party/forked/golang/expansion/expand.go):
 * - `$(VAR)` becomes the value of VAR when VAR is defined, and stays `$(VAR)` when it is not;
 * - `$$` becomes `$`, so `$$(VAR)` is the literal `$(VAR)`;
 * - any other `$` (alone, at the end, or an unclosed `$(`) is kept as it is.
 */
export function expandVariables(input: string, variables: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const { text, isVariable, advance } = readVariableName(input.slice(cursor + 1));
    if (isVariable) {
      const value = Object.hasOwn(variables, text) ? variables[text] : undefined;
      out += value ?? `$(${text})`;
    } else {
      out += text;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** What follows a `$`: an escaped `$`, a `(NAME)` reference, or anything else, kept as it is. */
function readVariableName(rest: string): { text: string; isVariable: boolean; advance: number } {
  if (rest[0] === '$') return { text: '$', isVariable: false, advance: 1 };
  if (rest[0] === '(') {
    const close = rest.indexOf(')', 1);
    if (close !== -1) return { text: rest.slice(1, close), isVariable: true, advance: close + 1 };
    return { text: '$(', isVariable: false, advance: 1 };
  }
  return { text: `$${rest[0]}`, isVariable: false, advance: 1 };
}
