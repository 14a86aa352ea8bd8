#!/usr/bin/env node
'use strict';
// natural's optional dependencies load dotenv, which prints to stdout unless told not to.
process.env.DOTENV_CONFIG_QUIET = process.env.DOTENV_CONFIG_QUIET || 'true';
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`repwatch: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
);
