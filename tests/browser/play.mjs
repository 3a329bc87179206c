// node play.mjs <pageURL> <seconds> [switchAtSecond]
// Opens weir's player page in Debian's Chromium (playwright-core; no browser download),
// samples window.playerState() once per second of real playback and, at switchAtSecond,
// asks hls.js to switch to another rendition. Prints one JSON line per sample and a final
// line "RESULT {...}" with every sample and any page error.
// Env: CHROMIUM = browser binary (default /usr/lib/chromium/chromium); SEEKS = seeks to
// make after given samples, e.g. "4:end-4,12:back-45" (to 4 s before the end of the
// seekable range after sample 4; 45 s back from the current position after sample 12).
import { chromium } from 'playwright-core';

const [, , url, secs = '30', switchAt = ''] = process.argv;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/lib/chromium/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
});
const pageErrors = [];
const samples = [];
let switchedTo = null;
const seeks = new Map((process.env.SEEKS || '').split(',').filter(Boolean)
  .map(p => p.split(':')).map(([i, to]) => [+i, to]));
try {
  const page = await browser.newPage();
  page.on('pageerror', e => pageErrors.push(String(e).slice(0, 300)));
  await page.goto(url);
  await page.waitForFunction(() => typeof window.playerState === 'function');
  for (let i = 1; i <= +secs; i++) {
    await page.waitForTimeout(1000);
    const s = await page.evaluate(() => window.playerState());
    s.mediaErrors = (s.events || []).filter(e => e.name === 'error').length;
    s.waits = (s.events || []).filter(e => e.name === 'waiting').length;
    delete s.events;
    samples.push(s);
    console.log(JSON.stringify({ i, t: s.currentTime, frames: s.decodedFrames, latency: s.latency, target: s.targetLatency, level: s.level, errors: s.errors.length }));
    if (seeks.has(i)) {
      s.seekTo = await page.evaluate(to => {
        const v = document.getElementById('video');
        const r = v.seekable;
        const t = to.startsWith('end-') ? r.end(r.length - 1) - +to.slice(4)
          : v.currentTime - +to.slice(5);
        v.currentTime = t;
        return t;
      }, seeks.get(i));
    }
    if (switchAt && i === +switchAt && s.levels && s.levels.length > 1) {
      switchedTo = (s.level + 1) % s.levels.length;
      await page.evaluate(l => window.switchLevel(l), switchedTo);
    }
  }
} catch (e) {
  pageErrors.push('driver: ' + String(e).slice(0, 300));
} finally {
  await browser.close();
}
console.log('RESULT ' + JSON.stringify({ samples, pageErrors, switchedTo }));
