// weir's HESP reference client (draft-theo-hesp, manifest version 2.0.0), on Media
// Source Extensions. Loaded by index.html for `?player=hesp`; exposes
// `window.WeirHesp.create(video, manifestUrl, opts)`.
//
// What it does
// - Reads the HESP manifest (JSON, application/vnd.theo.hesp+json), takes the
//   activePresentation, its first video Switching Set (track `?rendition=ID` or the first)
//   and the first track of its first audio Switching Set.
// - Builds every URL by RFC 3986 relative resolution, in the draft's order [HESP §3.4]:
//   manifest URL → contentBaseUrl → Presentation.baseUrl → SwitchingSet.baseUrl →
//   Track.baseUrl → pattern (the Track's pattern overrides the Switching Set's);
//   `{initId}` / `{segmentId}` with optional zero padding (`{segmentId:06d}`).
// - Start-up [HESP §2, §4, §5]: GET the video Initialization Packet `…{initId=now}`,
//   append its CMAF header (ftyp + moov) and its samples (moof + mdat pairs; the emsg is
//   read, never appended), read the `urn:theo:hesp:2020` / `initdata` emsg
//   {"index", "offset"}, then stream the Continuation Segment `index` from `offset` with
//   `Range: bytes=offset-(2^53−1)` (start and end both given, §5.3.3), and segments
//   index+1, index+2 … with plain GETs. A 416 on that first Range (the packet pointed at
//   the very end of a complete segment) moves on to index+1.
// - Audio: the audio packet is the one whose sequence number holds the video packet's
//   first sample, seq = floor((t − Presentation start) × rate) + startSequenceNumber
//   [HESP §3.1], t in Manifest time (media time − mediaTimeOffset), rate = frameRate for
//   video and sampleRate / samplesPerFrame (default 1024) for audio (the draft only says
//   "frame rate"; protocols.md §8.2 [impl]).
// - Low latency: continuation bodies are read as they arrive (ReadableStream); every
//   complete moof + mdat pair (a CMAF chunk) is appended as soon as its mdat is complete.
// - Playback starts at the first video sample (start of the buffered range). Live latency
//   = wall clock (corrected once against the manifest's timeSource, http-iso/xsdate) −
//   Manifest time of the playhead.
// - Rendition switch: the new track's packet for the sequence number of the last buffered
//   video frame (buffered end − one frame), so that its key frame overlaps data already
//   buffered; then the old continuation is aborted and the new track's header, samples
//   and continuation follow (no flush, no gap).
// - Presentation changes: the manifest is re-read every fallbackPollRate seconds, at once
//   on an in-band `manifestupdate` emsg (its optional `url` becomes the manifest URL),
//   and on a 404 or a broken continuation body. A new activePresentation, a 404 or a
//   network error restarts the client from the newest packet (`now`) of the active
//   Presentation, in the same MediaSource (a fresh one if it failed).
// - Keeps ≤ 30 s behind the playhead in each SourceBuffer; closes small gaps (< 2 s) when
//   playback waits before one.
// - Errors go to opts.S.errors ({type: 'hesp', details, fatal}); nothing is thrown to the
//   page. The client retries (back-off up to 2 s) and gives up after 20 failed restarts
//   in a row ("Clients retry, then stop", §3.3).
//
// What it leaves out
// - No DRM (protection: ignored; a protected stream will not decode), no metadata tracks,
//   no Presentation events, no audio switching (first audio track only), no ABR (the
//   rendition changes only through switchLevel), no VOD, no DVR seeking, no seamless
//   Presentation transition at a Presentation's endTime (a restart from `now` instead),
//   no `timeBounds`-driven segment lists (it needs constant segment numbering: id + 1).
// - One video and one audio track at a time: two SourceBuffers ('segments' mode).

(function (root) {
  'use strict';

  /** End of an open Range: 2^53 − 1 [HESP §5.3.3]. */
  const RANGE_END = 9007199254740991;
  const HESP_SCHEME = 'urn:theo:hesp:2020';
  const utf8 = new TextDecoder('utf-8');

  // ---------------------------------------------------------------- ISO BMFF reading

  const u32 = (b, o) => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
  const u64 = (b, o) => u32(b, o) * 4294967296 + u32(b, o + 4);
  const fourcc = (b, o) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);

  /** The header of the box at b[pos], within b[..end]: {type, hdr, size} (size null: the
   *  box runs to the end of the stream), or null while the header is incomplete. */
  function boxHeader(b, pos, end) {
    if (end - pos < 8) return null;
    let size = u32(b, pos), hdr = 8;
    const type = fourcc(b, pos + 4);
    if (size === 1) {
      if (end - pos < 16) return null;
      size = u64(b, pos + 8); hdr = 16;
    } else if (size === 0) size = null;
    if (size !== null && size < hdr) throw new Error(`bad ${type} box size ${size}`);
    return { type, hdr, size };
  }

  /** The boxes of b[start..end] (which must hold whole boxes): [{type, start, end, body}]. */
  function boxes(b, start = 0, end = b.length) {
    const out = [];
    for (let p = start; p < end;) {
      const h = boxHeader(b, p, end);
      if (!h) throw new Error('truncated box header');
      const e = h.size === null ? end : p + h.size;
      if (e > end) throw new Error(`truncated ${h.type} box`);
      out.push({ type: h.type, start: p, end: e, body: p + h.hdr });
      p = e;
    }
    return out;
  }

  /** The first box of `path` (container types) below box `x`, or undefined. */
  function find(b, x, ...path) {
    for (const t of path) {
      if (!x) return undefined;
      x = boxes(b, x.body, x.end).find(c => c.type === t);
    }
    return x;
  }

  /** An emsg box (version 0 or 1). */
  function parseEmsg(b, x) {
    const version = b[x.body];
    let p = x.body + 4;
    const cstr = () => {
      let e = p;
      while (e < x.end && b[e] !== 0) e++;
      const s = utf8.decode(b.subarray(p, e));
      p = e + 1;
      return s;
    };
    const m = { version };
    if (version === 0) {
      m.scheme = cstr(); m.value = cstr();
      m.timescale = u32(b, p); m.time = u32(b, p + 4); m.duration = u32(b, p + 8); m.id = u32(b, p + 12);
      p += 16;
    } else {
      m.timescale = u32(b, p); m.time = u64(b, p + 4); m.duration = u32(b, p + 12); m.id = u32(b, p + 16);
      p += 20;
      m.scheme = cstr(); m.value = cstr();
    }
    m.data = b.subarray(Math.min(p, x.end), x.end);
    return m;
  }

  /** moov/trak/mdia/mdhd timescale (the first track's). */
  function mdhdTimescale(b, moov) {
    const mdhd = find(b, moov, 'trak', 'mdia', 'mdhd');
    if (!mdhd) return null;
    return u32(b, mdhd.body + (b[mdhd.body] === 1 ? 20 : 12));
  }

  /** The first sample's presentation time of a moof, in ticks: tfdt baseMediaDecodeTime
   *  + the first trun entry's composition offset. */
  function moofTime(b, moof) {
    const traf = find(b, moof, 'traf');
    const tfdt = traf && find(b, traf, 'tfdt');
    if (!tfdt) return null;
    let t = b[tfdt.body] === 1 ? u64(b, tfdt.body + 4) : u32(b, tfdt.body + 4);
    const trun = find(b, traf, 'trun');
    if (trun) {
      const v = b[trun.body], flags = u32(b, trun.body) & 0xffffff;
      if (flags & 0x800 && u32(b, trun.body + 4) > 0) {
        let p = trun.body + 8;
        if (flags & 0x1) p += 4;
        if (flags & 0x4) p += 4;
        if (flags & 0x100) p += 4;
        if (flags & 0x200) p += 4;
        if (flags & 0x400) p += 4;
        const cto = u32(b, p);
        t += v === 0 ? cto : (cto | 0);
      }
    }
    return t;
  }

  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }

  /** An Initialization Packet [HESP §4]: {init (ftyp + moov), media [moof + mdat …],
   *  timescale, firstTime (s, media time, null without samples), index, offset, events}. */
  function parsePacket(buf) {
    const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
    const top = boxes(b);
    const ftyp = top.find(x => x.type === 'ftyp'), moov = top.find(x => x.type === 'moov');
    if (!moov) throw new Error('initialization packet without moov');
    const init = concat([ftyp ? b.subarray(ftyp.start, ftyp.end) : new Uint8Array(0), b.subarray(moov.start, moov.end)]);
    const timescale = mdhdTimescale(b, moov);
    const media = [], events = [];
    let initdata = null, firstTime = null;
    for (let i = 0; i < top.length; i++) {
      const x = top[i];
      if (x.type === 'emsg') {
        const e = parseEmsg(b, x);
        if (e.scheme === HESP_SCHEME && e.value === 'initdata') initdata = JSON.parse(utf8.decode(e.data));
        else events.push(e);
      } else if (x.type === 'moof') {
        const mdat = top[i + 1];
        if (!mdat || mdat.type !== 'mdat') throw new Error('moof without mdat in initialization packet');
        media.push(b.slice(x.start, mdat.end));
        if (firstTime === null && timescale) {
          const t = moofTime(b, x);
          if (t !== null) firstTime = t / timescale;
        }
        i++;
      }
    }
    if (!initdata || !Number.isInteger(initdata.index) || initdata.index < 0) {
      throw new Error('initialization packet without a valid initdata emsg');
    }
    const offset = initdata.offset === undefined ? 0 : initdata.offset;
    if (!Number.isInteger(offset) || offset < 0) throw new Error(`bad initdata offset ${initdata.offset}`);
    return { init, media, timescale, firstTime, index: initdata.index, offset, events };
  }

  /** Cuts a byte stream into complete top-level boxes as bytes arrive. */
  class BoxCutter {
    constructor() { this.buf = new Uint8Array(1 << 16); this.start = 0; this.end = 0; }
    get pending() { return this.end - this.start; }
    push(chunk) {
      if (this.end + chunk.length > this.buf.length) {
        const need = this.pending + chunk.length;
        const next = need * 2 > this.buf.length || this.start === 0
          ? new Uint8Array(Math.max(need * 2, this.buf.length)) : this.buf;
        next.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = next; this.end -= this.start; this.start = 0;
      }
      this.buf.set(chunk, this.end);
      this.end += chunk.length;
    }
    /** The complete boxes now available, as [{type, bytes}] (copies). At the end of the
     *  stream (`final`), a box of size 0 takes what is left. */
    take(final = false) {
      const out = [];
      for (;;) {
        const h = boxHeader(this.buf, this.start, this.end);
        if (!h) break;
        const size = h.size === null ? (final ? this.pending : Infinity) : h.size;
        if (this.start + size > this.end) break;
        out.push({ type: h.type, bytes: this.buf.slice(this.start, this.start + size) });
        this.start += size;
      }
      if (this.start === this.end) this.start = this.end = 0;
      return out;
    }
  }

  // ---------------------------------------------------------------- manifest

  const scaled = v => (v && typeof v.value === 'number' ? v.value / (v.scale || 1) : null);

  /** Replaces `{name}` or `{name:0Nd}` in a pattern [HESP §3.4]. */
  function fill(pattern, name, value) {
    return pattern.replace(new RegExp(`\\{${name}(?::0?(\\d+)d)?\\}`, 'g'), (_, w) =>
      (w && typeof value === 'number' ? String(value).padStart(+w, '0') : String(value)));
  }

  /** Everything the client needs of one track, with its URLs resolved. */
  function describe(manifestUrl, m, pres, kind, set, track) {
    let base = new URL(manifestUrl);
    for (const rel of [m.contentBaseUrl, pres.baseUrl, set.baseUrl, track.baseUrl]) {
      if (typeof rel === 'string' && rel !== '') base = new URL(rel, base);
    }
    const pick = k => (track[k] !== undefined ? track[k] : set[k]);
    const initPattern = pick('initializationPattern'), contPattern = pick('continuationPattern');
    if (!initPattern || !contPattern) throw new Error(`track ${track.id}: no initialization/continuation pattern`);
    const codecs = pick('codecs');
    let rate;
    if (kind === 'video') rate = scaled(pick('frameRate'));
    else rate = pick('sampleRate') ? pick('sampleRate') / (pick('samplesPerFrame') || 1024) : null;
    const tb = pres.timeBounds || {};
    return {
      kind, id: track.id, setId: set.id,
      mime: `${set.mimeType || `${kind}/mp4`}${codecs ? `; codecs="${codecs}"` : ''}`,
      height: track.resolution ? track.resolution.height : null,
      bandwidth: track.bandwidth,
      rate: rate > 0 ? rate : null,
      startSeq: pick('startSequenceNumber') || 0,
      mto: scaled(pick('mediaTimeOffset')) || 0, // media time − Manifest time (s)
      presStart: (tb.startTime || 0) / (tb.scale || 1), // Manifest time (s)
      segDur: scaled(pick('segmentDuration')),
      initUrl: id => new URL(fill(initPattern, 'initId', id), base).href,
      contUrl: n => new URL(fill(contPattern, 'segmentId', n), base).href,
    };
  }

  /** Sequence number of the packet holding Manifest time t (s) [HESP §3.1]; 'now' when
   *  the track has no rate. (A hair of tolerance keeps a frame start on its own frame.) */
  function seqFor(d, t) {
    if (!d.rate || !isFinite(t)) return 'now';
    return Math.max(d.startSeq, Math.floor((t - d.presStart) * d.rate + 1e-6) + d.startSeq);
  }

  // ---------------------------------------------------------------- SourceBuffer queue

  /** One SourceBuffer and its queue: appendBuffer/remove only when !updating. */
  class Sink {
    constructor(client, kind, sb) {
      this.client = client; this.kind = kind; this.sb = sb; this.q = []; this.ms = client.ms;
      sb.mode = 'segments';
      sb.addEventListener('updateend', () => { this.pump(); client.onUpdate(kind); });
      // A failed append ends the MediaSource with a decode error: start again in a new one.
      sb.addEventListener('error', () => { if (client.ms === this.ms) client.restart(`${kind} SourceBuffer error`, true); });
    }
    append(data) { this.q.push({ data }); this.pump(); }
    remove(start, end) { if (end > start) { this.q.push({ start, end }); this.pump(); } }
    clear() { this.q.length = 0; }
    buffered() { try { return this.sb.buffered; } catch (e) { return null; } }
    pump() {
      if (!this.q.length || this.sb.updating || this.ms.readyState === 'closed') return;
      const op = this.q.shift();
      try {
        if (op.data) this.sb.appendBuffer(op.data);
        else this.sb.remove(op.start, op.end);
      } catch (e) {
        if (op.data && e.name === 'QuotaExceededError') {
          // Full: drop more of the past, then try again.
          this.q.unshift(op);
          this.client.trim(10);
          setTimeout(() => this.pump(), 500);
        } else {
          this.client.error(`${this.kind} ${op.data ? 'append' : 'remove'}: ${e.name} ${e.message}`, false);
          if (this.client.ms === this.ms && (this.ms.readyState !== 'open' || this.client.video.error)) {
            this.client.restart('MediaSource failed', true);
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- the client

  const sleep = ms => new Promise(r => setTimeout(r, ms));
  class Gone extends Error {} // 404: the track, packet or segment is not (any more) there

  class HespClient {
    /** opts: {S: the page's state ({errors, events, levelSwitches}), rendition: track id,
     *  audio: false to play video only, onLevels(levels [{height, id, bandwidth}]),
     *  catchUp: {above: 1.0, below: 0.5, rate: 1.1}}. */
    constructor(video, manifestUrl, opts = {}) {
      this.video = video;
      this.url = new URL(manifestUrl, root.location ? root.location.href : undefined).href;
      this.S = opts.S || { errors: [], events: [], levelSwitches: [] };
      this.opts = opts;
      this.catchUp = Object.assign({ above: 1.0, below: 0.5, rate: 1.1 }, opts.catchUp || {});
      this.gen = 0; // bumped by every (re)start: anything of an older generation stops
      this.ms = null; this.sinks = {}; this.streams = {};
      this.tracks = []; this.level = 0; this.vdesc = null; this.adesc = null; this.pres = null;
      this.firstFrameMs = null; this.firstPlayingMs = null; this.t0 = null;
      this.clockOffsetMs = 0; this.clockSynced = false;
      this.needSeek = false; this.seekTarget = null; this.started = false;
      this.catchingUp = false; this.restarts = 0; this.failures = 0; this.restartTimer = null;
      this.pollTimer = null; this.fastPollUntil = 0; this.switchToken = 0; this.lastTrim = 0;
    }

    error(details, fatal) {
      this.S.errors.push({ type: 'hesp', details: String(details).slice(0, 300), fatal: !!fatal });
    }
    event(name, extra) { this.S.events.push(Object.assign({ t: performance.now() / 1000, name }, extra || {})); }

    start() {
      this.t0 = performance.now();
      const v = this.video;
      // Time to first frame: from the manifest request to the first frame presented
      // (requestVideoFrameCallback), or to the first 'playing' without it.
      v.addEventListener('playing', () => {
        if (this.firstPlayingMs === null) this.firstPlayingMs = performance.now() - this.t0;
        if (this.firstFrameMs === null && !v.requestVideoFrameCallback) this.firstFrameMs = this.firstPlayingMs;
      });
      v.addEventListener('error', () => {
        if (this.ms && v.error) this.restart(`media error ${v.error.code}: ${v.error.message || ''}`, true);
      });
      if (v.requestVideoFrameCallback) {
        v.requestVideoFrameCallback(() => { this.firstFrameMs = performance.now() - this.t0; });
      }
      this.tickTimer = setInterval(() => { try { this.tick(); } catch (e) { this.error(`tick: ${e}`, false); } }, 200);
      this.boot(true).catch(e => this.restart(`start: ${e.message || e}`, true));
    }

    // -------------------------------------------------------------- manifest

    async fetchManifest() {
      const r = await fetch(this.url, { cache: 'no-store' });
      if (r.status === 404) throw new Gone(`manifest ${this.url}: 404`);
      if (!r.ok) throw new Error(`manifest ${this.url}: HTTP ${r.status}`);
      const m = await r.json();
      if (!m || !Array.isArray(m.presentations)) throw new Error('manifest without presentations');
      if (m.manifestVersion !== '2.0.0') this.error(`manifestVersion ${m.manifestVersion} (expected 2.0.0)`, false);
      return m;
    }

    activeOf(m) {
      const p = m.presentations.find(x => x.id === m.activePresentation);
      if (p) return p;
      if (m.streamType === 'live') throw new Error(`activePresentation ${m.activePresentation} not in presentations`);
      return m.presentations[0];
    }

    /** Once, after the first manifest: the offset (ms) of the server clock to ours. */
    async syncClock(m) {
      const ts = m.timeSource;
      if (this.clockSynced || !ts || !ts.value || !/utc:http-(iso|xsdate)/.test(ts.scheme || '')) return;
      this.clockSynced = true;
      try {
        const url = new URL(ts.value, this.url).href;
        const a = Date.now();
        const r = await fetch(url, { cache: 'no-store' });
        const text = (await r.text()).trim();
        const b = Date.now();
        const server = Date.parse(text);
        if (r.ok && isFinite(server)) this.clockOffsetMs = server - (a + b) / 2;
      } catch (e) {
        this.error(`timeSource: ${e.message || e}`, false);
      }
    }

    schedulePoll() {
      clearTimeout(this.pollTimer);
      const rate = Math.max(1, (this.manifest && this.manifest.fallbackPollRate) || 2);
      const ms = performance.now() < this.fastPollUntil ? 1000 : rate * 1000;
      this.pollTimer = setTimeout(() => this.poll(), ms);
    }

    async poll() {
      const gen = this.gen;
      try {
        const m = await this.fetchManifest();
        if (gen !== this.gen || !this.pres) return;
        this.manifest = m;
        if (m.activePresentation !== this.pres.id) {
          this.restart(`activePresentation ${this.pres.id} → ${m.activePresentation}`, false);
          return;
        }
      } catch (e) {
        if (gen === this.gen) this.error(`manifest poll: ${e.message || e}`, false);
      }
      if (gen === this.gen) this.schedulePoll();
    }

    /** An in-band `manifestupdate` [HESP §5.2]: read the manifest now, and every second
     *  for a while (the new Presentation is announced ≥ 2 s before it starts). */
    onManifestUpdate(data) {
      try {
        const j = data && data.length ? JSON.parse(utf8.decode(data)) : {};
        if (j.url) this.url = new URL(j.url, this.url).href;
      } catch (e) { this.error(`manifestupdate: ${e.message || e}`, false); }
      if (performance.now() < this.fastPollUntil) return; // already polling fast
      this.fastPollUntil = performance.now() + 15000;
      this.event('hesp-manifestupdate');
      this.poll();
    }

    // -------------------------------------------------------------- media source

    /** A MediaSource with a SourceBuffer for `v` and (if any) `a`: the current one when it
     *  still works and has the same kinds, else a new one. Returns the audio track kept. */
    async ensureMedia(v, a) {
      const ms = this.ms;
      const reuse = ms && ms.readyState === 'open' && !this.video.error && this.sinks.video && !!a === !!this.sinks.audio;
      if (reuse) {
        for (const [kind, d] of [['video', v], ['audio', a]]) {
          const s = this.sinks[kind];
          if (d && s && s.mime !== d.mime && s.sb.changeType) {
            try { s.sb.changeType(d.mime); s.mime = d.mime; } catch (e) { this.error(`changeType ${d.mime}: ${e.message}`, false); }
          }
        }
        return a;
      }
      const next = new MediaSource();
      const url = URL.createObjectURL(next);
      await new Promise((ok, fail) => {
        next.addEventListener('sourceopen', ok, { once: true });
        setTimeout(() => fail(new Error('MediaSource did not open')), 10000);
        this.video.src = url;
      });
      URL.revokeObjectURL(url);
      this.ms = next;
      if (!MediaSource.isTypeSupported(v.mime)) throw new Error(`unsupported ${v.mime}`);
      this.sinks = { video: new Sink(this, 'video', next.addSourceBuffer(v.mime)) };
      this.sinks.video.mime = v.mime;
      if (a && !MediaSource.isTypeSupported(a.mime)) {
        this.error(`unsupported ${a.mime}: video only`, false);
        a = null;
      }
      if (a) { this.sinks.audio = new Sink(this, 'audio', next.addSourceBuffer(a.mime)); this.sinks.audio.mime = a.mime; }
      next.duration = Infinity; // live
      return a;
    }

    // -------------------------------------------------------------- start-up

    async fetchPacket(d, seq, gen) {
      const url = d.initUrl(seq);
      const r = await fetch(url, { cache: 'no-store', signal: this.genCtrl.signal });
      if (r.status === 404) throw new Gone(`${url}: 404`);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      const buf = await r.arrayBuffer();
      if (gen !== this.gen) return null;
      const p = parsePacket(buf);
      p.url = url;
      return p;
    }

    /** Starts (first) or restarts playback from the newest packet of the active
     *  Presentation. */
    async boot(first) {
      const gen = ++this.gen;
      this.genCtrl = new AbortController();
      const m = await this.fetchManifest();
      if (gen !== this.gen) return;
      this.manifest = m;
      this.syncClock(m);
      const pres = this.activeOf(m);
      const vset = (pres.video || [])[0];
      if (!vset || !vset.tracks || !vset.tracks.length) throw new Error(`presentation ${pres.id} has no video`);
      const tracks = vset.tracks.map(t => describe(this.url, m, pres, 'video', vset, t));
      let level;
      if (first) {
        level = Math.max(0, tracks.findIndex(t => t.id === this.opts.rendition));
      } else {
        const cur = this.vdesc && tracks.findIndex(t => t.id === this.vdesc.id);
        level = cur >= 0 ? cur : Math.min(this.level, tracks.length - 1);
      }
      const aset = this.opts.audio === false ? null : (pres.audio || [])[0];
      let adesc = aset && aset.tracks && aset.tracks.length ? describe(this.url, m, pres, 'audio', aset, aset.tracks[0]) : null;
      adesc = await this.ensureMedia(tracks[level], adesc);
      if (gen !== this.gen) return;
      this.pres = pres; this.tracks = tracks; this.level = level; this.vdesc = tracks[level]; this.adesc = adesc;
      if (this.opts.onLevels) this.opts.onLevels(tracks.map(t => ({ height: t.height, id: t.id, bandwidth: t.bandwidth })));
      if (!first) {
        // A new start: whatever is buffered belongs to the old timeline.
        for (const s of Object.values(this.sinks)) { s.clear(); s.remove(0, Infinity); }
      }

      const vp = await this.fetchPacket(this.vdesc, 'now', gen);
      if (!vp || gen !== this.gen) return;
      const vs = this.sinks.video;
      vs.append(vp.init);
      vp.media.forEach(x => vs.append(x));
      this.seekTarget = vp.firstTime;
      this.needSeek = true;
      this.continuation('video', this.vdesc, vp.index, vp.offset);
      this.event('hesp-start', { presentation: pres.id, track: this.vdesc.id, packet: vp.url });

      if (adesc) {
        const t = vp.firstTime !== null ? vp.firstTime - this.vdesc.mto : NaN; // Manifest time
        const ap = await this.fetchPacket(adesc, seqFor(adesc, t), gen);
        if (!ap || gen !== this.gen) return;
        const as = this.sinks.audio;
        as.append(ap.init);
        ap.media.forEach(x => as.append(x));
        this.continuation('audio', adesc, ap.index, ap.offset);
      }
      this.schedulePoll();
    }

    // -------------------------------------------------------------- continuation

    /** Streams the Continuation Stream of `d` from segment `index`, byte `offset`
     *  [HESP §5.3]: a Range request first, then whole segments. */
    continuation(kind, d, index, offset) {
      const s = { kind, d, index, gen: this.gen, ctrl: new AbortController(), moof: null, lastData: performance.now() };
      const old = this.streams[kind];
      if (old) old.ctrl.abort();
      this.streams[kind] = s;
      const alive = () => s.gen === this.gen && this.streams[kind] === s && !s.ctrl.signal.aborted;
      (async () => {
        let ranged = true, retries = 0;
        while (alive()) {
          const url = d.contUrl(index);
          const headers = ranged ? { Range: `bytes=${offset}-${RANGE_END}` } : {};
          let r;
          try {
            r = await fetch(url, { headers, cache: 'no-store', signal: s.ctrl.signal });
          } catch (e) {
            if (!alive()) return;
            if (retries++ < 2) { await sleep(250); continue; }
            throw e;
          }
          if (!alive()) return;
          if (r.status === 416 && ranged) { ranged = false; index++; s.index = index; continue; }
          if (r.status === 404) throw new Gone(`${url}: 404`);
          if (r.status !== 200 && r.status !== 206) {
            if (retries++ < 2) { await sleep(500); continue; }
            throw new Error(`${url}: HTTP ${r.status}`);
          }
          // A server that ignored the Range (200): skip to the offset ourselves.
          let skip = ranged && r.status === 200 ? offset : 0;
          const reader = r.body.getReader();
          const cut = new BoxCutter();
          for (;;) {
            const { value, done } = await reader.read(); // throws on a broken body: restart
            if (!alive()) { reader.cancel().catch(() => {}); return; }
            if (done) break;
            s.lastData = performance.now();
            let chunk = value;
            if (skip) { const n = Math.min(skip, chunk.length); chunk = chunk.subarray(n); skip -= n; }
            if (chunk.length) { cut.push(chunk); this.consume(s, cut.take(false)); }
          }
          this.consume(s, cut.take(true));
          if (cut.pending) this.error(`${url}: ${cut.pending} bytes of an incomplete box at its end`, false);
          ranged = false; retries = 0; index++; s.index = index;
        }
      })().catch(e => {
        if (!alive()) return;
        this.restart(`${kind} continuation: ${e.message || e}`, true);
      });
      return s;
    }

    /** Appends each complete moof + mdat (a CMAF chunk) at once; reads emsg. */
    consume(s, list) {
      const sink = this.sinks[s.kind];
      for (const { type, bytes } of list) {
        if (type === 'moof') {
          if (s.moof) this.error(`${s.kind}: moof without mdat`, false);
          s.moof = bytes;
        } else if (type === 'mdat') {
          if (!s.moof) { this.error(`${s.kind}: mdat without moof`, false); continue; }
          sink.append(concat([s.moof, bytes]));
          s.moof = null;
          this.failures = 0;
        } else if (type === 'emsg') {
          try {
            const e = parseEmsg(bytes, { body: boxHeader(bytes, 0, bytes.length).hdr, end: bytes.length });
            if (e.scheme === HESP_SCHEME && e.value === 'manifestupdate') this.onManifestUpdate(e.data);
          } catch (err) { this.error(`emsg: ${err.message}`, false); }
        }
        // styp, sidx, prft, free …: not for the SourceBuffer.
      }
    }

    // -------------------------------------------------------------- restart

    /** Stops everything of the current generation and boots again from `now`. */
    restart(reason, isError) {
      if (this.restartTimer || this.stopped) return;
      this.gen++;
      if (this.genCtrl) this.genCtrl.abort();
      for (const s of Object.values(this.streams)) s.ctrl.abort();
      this.streams = {};
      clearTimeout(this.pollTimer);
      if (isError) this.error(`restart: ${reason}`, false);
      this.event('hesp-restart', { reason: String(reason).slice(0, 200) });
      this.restarts++;
      if (++this.failures > 20) {
        this.stopped = true;
        this.error(`giving up after ${this.failures - 1} failed restarts: ${reason}`, true);
        return;
      }
      const delay = Math.min(2000, 125 * 2 ** Math.min(this.failures, 4));
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.boot(false).catch(e => this.restart(`restart: ${e.message || e}`, true));
      }, delay);
    }

    // -------------------------------------------------------------- rendition switch

    /** Switches the video track to `i` (manifest order) without flushing. */
    async switchLevel(i) {
      const to = this.tracks[i], gen = this.gen, token = ++this.switchToken;
      if (!to || !this.sinks.video || i === this.level) return false;
      // The packet of the last buffered frame: its key frame overlaps what is buffered.
      const b = this.sinks.video.buffered();
      let seq = 'now';
      if (b && b.length && to.rate) seq = seqFor(to, b.end(b.length - 1) - 1 / to.rate - to.mto);
      let p;
      try {
        p = await this.fetchPacket(to, seq, gen);
      } catch (e) {
        if (gen !== this.gen || e.name === 'AbortError') return false;
        if (e instanceof Gone) this.restart(`switch: ${e.message}`, true);
        else this.error(`switch to ${to.id}: ${e.message || e}`, false);
        return false;
      }
      if (!p || gen !== this.gen || token !== this.switchToken) return false;
      // Chunks of the old track already cut stay queued ahead of the new header.
      const old = this.streams.video;
      if (old) old.ctrl.abort();
      const vs = this.sinks.video;
      vs.append(p.init);
      p.media.forEach(x => vs.append(x));
      this.level = i; this.vdesc = to;
      this.continuation('video', to, p.index, p.offset);
      this.S.levelSwitches.push(i);
      this.event('hesp-switch', { level: i, track: to.id, packet: p.url });
      return true;
    }

    // -------------------------------------------------------------- playback upkeep

    onUpdate(kind) { if (kind === 'video' && this.needSeek) this.trySeek(); }

    /** After a (re)start: to the first video sample once it is buffered, and play. */
    trySeek() {
      const v = this.video, b = v.buffered;
      if (!b.length) return;
      let target = null;
      for (let i = 0; i < b.length; i++) {
        if (this.seekTarget === null || b.end(i) > this.seekTarget + 0.01) {
          target = this.seekTarget === null ? b.start(i) : Math.max(b.start(i), this.seekTarget);
          break;
        }
      }
      if (target === null) return;
      this.needSeek = false; this.started = true;
      v.currentTime = target;
      const pr = v.play();
      if (pr && pr.catch) pr.catch(e => this.error(`play: ${e.message || e}`, false));
    }

    bufferAhead() {
      const v = this.video, b = v.buffered, t = v.currentTime;
      for (let i = 0; i < b.length; i++) if (t >= b.start(i) - 0.05 && t < b.end(i)) return b.end(i) - t;
      return 0;
    }

    /** Removes what lies more than `keep` s behind the playhead. */
    trim(keep = 30) {
      const t = this.video.currentTime;
      for (const s of Object.values(this.sinks)) {
        const b = s.buffered();
        if (b && b.length && t - keep > b.start(0) + 0.5) s.remove(b.start(0), t - keep);
      }
    }

    tick() {
      // A continuation that has been silent far longer than a segment: start again.
      const now = performance.now();
      for (const s of Object.values(this.streams)) {
        const limit = 1000 * Math.max(10, 3 * (s.d.segDur || 0));
        if (now - s.lastData > limit) { this.restart(`${s.kind} continuation silent for ${((now - s.lastData) / 1000).toFixed(1)} s`, true); return; }
      }
      if (this.needSeek) this.trySeek();
      if (!this.started || this.needSeek) return;
      const v = this.video, b = v.buffered, t = v.currentTime;
      // Waiting before a small gap (a switch that did not quite meet the buffer), or
      // behind all buffered data (trimmed): jump to the next buffered range.
      if (!v.seeking && b.length && this.bufferAhead() === 0) {
        for (let i = 0; i < b.length; i++) {
          if (b.start(i) > t && (b.start(i) - t < 2 || i === 0)) {
            v.currentTime = b.start(i) + 0.001;
            this.event('hesp-gap-jump', { from: t, to: b.start(i) });
            break;
          }
        }
      }
      // The client's own catch-up, part of its latency design (not an override of a
      // player's setting): more than 1 s buffered ahead → play at 1.1× until < 0.5 s.
      const ahead = this.bufferAhead(), c = this.catchUp;
      if (!this.catchingUp && ahead > c.above) { this.catchingUp = true; v.playbackRate = c.rate; }
      else if (this.catchingUp && ahead < c.below) { this.catchingUp = false; v.playbackRate = 1; }
      if (now - this.lastTrim > 5000) { this.lastTrim = now; this.trim(30); }
    }

    // -------------------------------------------------------------- state

    /** Live latency (s): wall clock − Manifest time of the playhead. */
    latency() {
      if (!this.started || !this.vdesc || this.video.readyState < 2) return null;
      const now = (Date.now() + this.clockOffsetMs) / 1000;
      return now - (this.video.currentTime - this.vdesc.mto);
    }

    state() {
      const d = this.tracks[this.level];
      return {
        latency: this.latency(),
        level: this.level,
        levels: this.tracks.map(x => x.height),
        height: this.video.videoHeight || (d ? d.height : null),
        firstFrameMs: this.firstFrameMs,
        firstPlayingMs: this.firstPlayingMs,
        playbackRate: this.video.playbackRate,
        presentation: this.pres ? this.pres.id : null,
        track: d ? d.id : null,
        restarts: this.restarts,
        clockOffsetMs: this.clockOffsetMs,
        segments: { video: this.streams.video ? this.streams.video.index : null, audio: this.streams.audio ? this.streams.audio.index : null },
      };
    }
  }

  const api = {
    version: 'hesp-ref',
    create: (video, manifestUrl, opts) => new HespClient(video, manifestUrl, opts),
    // For tests outside a browser.
    _internal: { boxes, boxHeader, parsePacket, parseEmsg, BoxCutter, fill, describe, seqFor, moofTime, mdhdTimescale },
  };
  root.WeirHesp = api;
  if (typeof module === 'object' && module.exports) module.exports = api;
})(typeof window !== 'undefined' ? window : globalThis);
