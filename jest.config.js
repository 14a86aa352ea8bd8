/** Unit, connector and notifier tests run in parallel; integration tests share the local services. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // The short fault-injection run (about 70 s of separate processes, kills and a Redis restart) is
  // opt-in: REPWATCH_CHAOS=1 npm test. `npm run chaos` is the full suite.
  testPathIgnorePatterns: process.env.REPWATCH_CHAOS ? ['/node_modules/'] : ['/node_modules/', '/test/chaos/'],
};
