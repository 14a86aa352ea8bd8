import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, RepwatchError, isRetryable } from '../../src/domain/errors';

describe('error codes', () => {
  it('are all documented in the README, and the README lists no code that does not exist', () => {
    const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    const documented = new Set(readme.match(/RW_ERR_[A-Z_]+/g) ?? []);
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  test.each([
    ['RW_ERR_PLATFORM_UNAVAILABLE', true],
    ['RW_ERR_RECEIVER_RATE_LIMITED', true],
    ['RW_ERR_PLATFORM_REJECTED', false],
    ['RW_ERR_PAYLOAD_MALFORMED', false],
    ['RW_ERR_CONFIG_INVALID', false],
  ] as const)('%s retryable: %s', (code, retryable) => {
    expect(isRetryable(new RepwatchError(code, 'x'))).toBe(retryable);
  });

  it('treats unknown errors as retryable, so nothing is dropped on a bug', () => {
    expect(isRetryable(new Error('boom'))).toBe(true);
  });
});
