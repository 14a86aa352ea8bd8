/**
 * The page evaluation as named pure steps (storms → term clusters → alerts by fingerprint →
 * storm joins → cases → recovery → events). Each takes data and returns what it changed; the
 * reads and writes around them are in services/evaluate.ts.
 */
export * from './book';
export * from './posts';
export * from './storms';
export * from './alerts';
export * from './cases';
