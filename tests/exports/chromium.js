// SPDX-License-Identifier: BSD-2-Clause
// The one way the export checks start Debian's Chromium (headless, through
// playwright-core): a throw-away profile, no sandbox (root in CI), nothing
// in the background that would reach the network. CHROMIUM overrides the path.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

// { ctx, close }: the persistent context, and what removes it and its profile.
async function launch(pw, viewport) {
  const udir = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-chromium-'));
  try {
    const ctx = await pw.chromium.launchPersistentContext(udir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      viewport,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    return {
      ctx,
      close: async () => {
        await ctx.close();
        fs.rmSync(udir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(udir, { recursive: true, force: true });
    throw e;
  }
}

module.exports = { launch };
