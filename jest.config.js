/** Unit, connector and notifier tests run in parallel; integration tests share the local services. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // The short fault-injection run (test/chaos: about 70 s of separate processes, kills and a Redis
  // restart) is part of npm test; `npm run chaos` is the full suite. REPWATCH_CHAOS=0 leaves it out
  // for a quick local run.
  testPathIgnorePatterns: process.env.REPWATCH_CHAOS === '0' ? ['/node_modules/', '/test/chaos/'] : ['/node_modules/'],
};
