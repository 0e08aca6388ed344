// Module resolve hook for running from a checkout (see source-mode.js): `partita` and
// `partita/…` resolve with the `partita-source` export condition, i.e. to src/*.ts.
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'partita' || specifier.startsWith('partita/')) {
    return nextResolve(specifier, { ...context, conditions: [...context.conditions, 'partita-source'] });
  }
  return nextResolve(specifier, context);
}
