import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../infra/config/config.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README.md', () => {
  it.each(['npm start', 'npm test', 'npm run demo'])('explains %s', (command) => {
    expect(readme).toContain(command);
  });

  it.each(Object.keys(ConfigSchema.properties))('documents the environment variable %s', (key) => {
    // As a table row of its own: | `KEY` | default | description |
    expect(readme).toMatch(new RegExp(`^\\|\\s*\`${key}\`\\s*\\|`, 'm'));
  });
});
