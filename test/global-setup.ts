import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Makes Redis and the MongoDB-compatible server available once for the whole run (the same script
 * the demo and the benchmark use) and hands their URLs to the test workers through the environment.
 */
export default function globalSetup(): void {
  const script = path.join(__dirname, '..', 'scripts', 'services.sh');
  const out = execFileSync('bash', [script, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of out.split('\n')) {
    const m = /^(REDIS_URL|MONGODB_URI)=(.+)$/.exec(line.trim());
    if (m) process.env[m[1]] = m[2];
  }
  process.env.DOTENV_CONFIG_QUIET = 'true';
}
