import type { SourceConfig } from '../config/schema';
import type { Connector } from './connector';
import { replayConnector } from './replay';
import { xConnector } from './x';

/** One line per platform: a new platform is a new file plus a line here. */
const CONNECTORS: { [P in SourceConfig['platform']]: Connector<Extract<SourceConfig, { platform: P }>> } = {
  replay: replayConnector,
  x: xConnector,
};

export function connectorFor<S extends SourceConfig>(source: S): Connector<S> {
  return CONNECTORS[source.platform] as unknown as Connector<S>;
}
