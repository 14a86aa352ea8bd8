import { captureLogger } from '../helpers';
import { redactUrl, scrubSecrets } from '../../src/logger';
import { RepwatchError } from '../../src/domain/errors';

const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F';
const HOOK = 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';

describe('logger', () => {
  it('scrubs secret values wherever they appear: message, nested fields, error text', () => {
    const { logger, lines } = captureLogger(() => [TOKEN, HOOK]);
    logger.info(`calling with ${TOKEN}`);
    logger.warn({ request: { headers: { Authorization: `Bearer ${TOKEN}` } } }, 'request failed');
    logger.error({ err: new RepwatchError('RW_ERR_RECEIVER_UNAVAILABLE', `POST ${HOOK} failed`) }, 'delivery failed');
    logger.info({ receiver: { webhookUrl: 'https://example.com/x' }, token: 'abc123456' }, 'by path');
    const text = lines.join('\n');
    expect(lines).toHaveLength(4);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(HOOK);
    expect(text).not.toContain('abc123456');
    expect(text).toContain('[Redacted]');
    expect(text).toContain('RW_ERR_RECEIVER_UNAVAILABLE');
  });

  test.each([
    ['https://hooks.slack.com/services/T1/B2/secret', 'https://hooks.slack.com/[redacted]'],
    ['https://user:pw@crm.example.com/hook?token=abc', 'https://crm.example.com/[redacted]'],
    ['not a url', '[unparseable url]'],
  ])('redactUrl(%s) = %s', (url, expected) => expect(redactUrl(url)).toBe(expected));

  it('ignores very short secrets rather than shredding every log line', () => {
    expect(scrubSecrets('a b c', ['a'])).toBe('a b c');
    expect(scrubSecrets('key=s3cr3t!', ['s3cr3t!'])).toBe('key=[Redacted]');
  });
});
