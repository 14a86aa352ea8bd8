import type { SourceConfig } from '../config/schema';
import type { Connector } from './connector';
import { blueskyConnector } from './bluesky';
import { facebookConnector } from './facebook';
import { googleReviewsConnector } from './google-reviews';
import { instagramConnector } from './instagram';
import { mastodonConnector } from './mastodon';
import { redditConnector } from './reddit';
import { replayConnector } from './replay';
import { rssConnector } from './rss';
import { trustpilotConnector } from './trustpilot';
import { xConnector } from './x';
import { youtubeConnector } from './youtube';

/** One line per platform: a new platform is a new file plus a line here. */
const CONNECTORS: { [P in SourceConfig['platform']]: Connector<Extract<SourceConfig, { platform: P }>> } = {
  replay: replayConnector,
  x: xConnector,
  bluesky: blueskyConnector,
  mastodon: mastodonConnector,
  rss: rssConnector,
  youtube: youtubeConnector,
  reddit: redditConnector,
  instagram: instagramConnector,
  facebook: facebookConnector,
  trustpilot: trustpilotConnector,
  'google-reviews': googleReviewsConnector,
};

export function connectorFor<S extends SourceConfig>(source: S): Connector<S> {
  return CONNECTORS[source.platform] as unknown as Connector<S>;
}
