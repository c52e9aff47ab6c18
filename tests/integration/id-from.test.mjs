// SSEIdFrom path-segment N takes the id from the Nth path segment, so the
// sections that set the handlers need no (?<id>...) group. It must resolve
// exactly the ids the shipped regex form resolves, and refuse exactly what
// that regex refuses (an empty, over-long or oddly spelt segment) with 404;
// a bad N is an `apachectl -t` error naming SSEIdFrom.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startMockStore, startApache, mintToken, openStream, configTest, tmpDir, ROOT,
} from '../lib/harness.mjs';
import { renderApacheConf } from '../lib/apache-conf.mjs';

const LONG_OK = 'a'.repeat(128);
const IDS = ['m1', 'A_b-9', LONG_OK];
const DATA = {
  meetings_app: {
    meetings: IDS.map((id, i) => ({
      _id: id, ownerId: 'alice', title: `Meeting ${i}`, status: 'ready', progress: 100,
      updatedAt: { $date: `2026-11-25T09:00:0${i}.000Z` },
    })).concat([{ _id: 'a.b', ownerId: 'alice', title: 'dotted', updatedAt: { $date: '2026-11-25T09:00:09.000Z' } }]),
  },
};
// Each of these the regex refuses: empty, 129 characters, characters
// outside A-Z a-z 0-9 _ - (even when a document has that _id), encoded
// ones, and an extra segment.
const BAD = ['', 'a'.repeat(129), 'a.b', 'a%2Eb', 'a%20b', '%C3%BC', 'm1;x', 'm1%2Fx', 'm1/x'];

let store, token;
const servers = {};

before(async () => {
  store = await startMockStore({ data: DATA });
  token = await mintToken({ sub: 'alice' });
  servers.regex = await startApache({ storeUri: store.uri, idFrom: 'regex' });
  servers.segment = await startApache({ storeUri: store.uri, idFrom: 'segment' });
});

after(async () => {
  for (const a of Object.values(servers)) await a.stop();
  await store?.stop();
});

async function resource(a, id) {
  const res = await fetch(`${a.url}/v1/meetings/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text() };
}

test('the segment form serves the same documents as the regex form, on the resource and the stream', async () => {
  for (const id of IDS) {
    const [r, s] = [await resource(servers.regex, id), await resource(servers.segment, id)];
    assert.equal(r.status, 200, `regex form, ${id}`);
    assert.equal(s.status, 200, `segment form, ${id}`);
    assert.deepEqual(JSON.parse(s.body), JSON.parse(r.body), id);

    const streams = await Promise.all([servers.regex, servers.segment].map((a) => openStream(`${a.url}/v1/meetings/${id}/events`, { token })));
    try {
      const [rs, ss] = await Promise.all(streams.map((st) => st.next((e) => e.event === 'status')));
      const [rc, sc] = streams.map((st) => st.events.find((e) => e.event === 'connected').json);
      assert.equal(sc.resource, id);
      assert.equal(rc.resource, id);
      assert.deepEqual(ss.json, rs.json, id);
      assert.equal(ss.id, rs.id);
    } finally {
      for (const st of streams) st.close();
    }
  }
});

test('the segment form refuses with 404 every segment the regex form refuses', async () => {
  for (const bad of BAD) {
    for (const suffix of ['', '/events']) {
      // "/v1/meetings//events" is the list stream's "/v1/meetings/events"
      // once httpd merges the slashes (MergeSlashes On): no id at all.
      if (bad === '' && suffix === '/events') continue;
      const url = `/v1/meetings/${bad}${suffix}`;
      const r = await fetch(`${servers.regex.url}${url}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } });
      const s = await fetch(`${servers.segment.url}${url}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } });
      await r.text();
      await s.text();
      assert.equal(r.status, 404, `regex form, ${url}`);
      assert.equal(s.status, 404, `segment form, ${url}: ${s.status}`);
    }
  }
});

test('the segment form takes PATCH (sse-update) ids as the regex form does', async () => {
  for (const [form, a] of Object.entries(servers)) {
    const url = `${a.url}/v1/meetings/m1`;
    const auth = { Authorization: `Bearer ${token}` };
    const etag = (await fetch(url, { headers: auth })).headers.get('etag');
    const res = await fetch(url, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/merge-patch+json', 'If-Match': etag },
      body: JSON.stringify({ title: `patched in the ${form} form` }),
    });
    assert.equal(res.status, 200, `${form} form: ${await res.clone().text()}`);
    assert.equal((await res.json()).title, `patched in the ${form} form`);
    // The regex form's section does not match a.b at all (httpd's own 405);
    // the segment form's does, and its handler refuses the id.
    if (form !== 'segment') continue;
    const bad = await fetch(`${a.url}/v1/meetings/a.b`, {
      method: 'PATCH',
      headers: { ...auth, 'Content-Type': 'application/merge-patch+json', 'If-Match': etag },
      body: '{"title":"x"}',
    });
    assert.equal(bad.status, 404, `${form} form refuses a bad id`);
  }
});

test('a bad SSEIdFrom is refused by apachectl -t with the directive named', async () => {
  const dir = tmpDir('sse-idfrom-');
  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, 'k'.repeat(64));
  const base = renderApacheConf({ root: ROOT, dir, port: 1, secretFile: secret, docRoot: path.join(ROOT, 'frontend'), storeUri: 'mongodb://127.0.0.1:1' });
  for (const bad of ['path-segment 0', 'path-segment x', 'path-segment 3x', 'path-segment 65', 'segment 3', '""']) {
    const { code, output } = await configTest(base.replace('</Location>', `    SSEIdFrom ${bad}\n</Location>`));
    assert.notEqual(code, 0, `SSEIdFrom ${bad} accepted:\n${output}`);
    assert.match(output, /SSEIdFrom/, output);
  }
  const { code, output } = await configTest(base.replace('</Location>', '    SSEIdFrom path-segment 3\n</Location>'));
  assert.equal(code, 0, output);
});
