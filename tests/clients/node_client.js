// node_client.js - one stock Node.js Redis client against flowcached: connect, read keys, SCAN, receive a PUBLISH.
// usage: node node_client.js <ioredis5|ioredis6|redis4|redis6> <port> <hash-key> <string-key> <channel>
// Prints "READY" once subscribed, then one JSON line with what it read, and exits 0 (1 on any error).
'use strict';
const [lib, port, hkey, skey, channel] = process.argv.slice(2);
const timer = setTimeout(() => { console.error('timeout'); process.exit(2); }, 20000);

function fail(e) { console.error(String(e && e.stack || e)); process.exit(1); }

async function viaIoredis() {
  const m = require(lib);
  const Redis = m.default || m.Redis || m;
  const opts = { host: '127.0.0.1', port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1,
                 retryStrategy: () => null };
  const r = new Redis(opts);
  r.on('error', fail);
  await r.connect();
  const out = { hgetall: await r.hgetall(hkey), get: await r.get(skey), type: await r.type(hkey),
                ttl: await r.ttl(hkey), dbsize: await r.dbsize() };
  const keys = new Set();
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'COUNT', 100);
    batch.forEach((k) => keys.add(k));
    cursor = next;
  } while (cursor !== '0');
  out.scan = keys.size;
  out.pipeline = (await r.multi().get(skey).hget(hkey, 'bytes.sent').exec()).map((x) => x[1]);
  const sub = new Redis(opts);
  sub.on('error', fail);
  await sub.connect();
  await sub.subscribe(channel);
  sub.on('message', async (ch, msg) => {
    out.message = [ch, msg];
    console.log(JSON.stringify(out));
    sub.disconnect();
    await r.quit();
    clearTimeout(timer);
  });
  console.log('READY');
}

async function viaNodeRedis() {
  const { createClient } = require(lib);
  // node-redis 6 speaks RESP3 (HELLO 3 on connect, pub/sub as push frames); 4 stays on RESP2
  const r = createClient({ socket: { host: '127.0.0.1', port: Number(port), reconnectStrategy: false },
                           ...(lib === 'redis6' ? { RESP: 3 } : {}) });
  r.on('error', fail);
  await r.connect();
  const out = { hgetall: { ...(await r.hGetAll(hkey)) }, get: await r.get(skey), type: await r.type(hkey),
                ttl: await r.ttl(hkey), dbsize: await r.dbSize() };
  const keys = new Set();
  for await (const k of r.scanIterator({ COUNT: 100 })) {
    (Array.isArray(k) ? k : [k]).forEach((x) => keys.add(x));
  }
  out.scan = keys.size;
  out.pipeline = await r.multi().get(skey).hGet(hkey, 'bytes.sent').exec();
  const sub = r.duplicate();
  sub.on('error', fail);
  await sub.connect();
  await sub.subscribe(channel, async (msg, ch) => {
    out.message = [ch, msg];
    console.log(JSON.stringify(out));
    await sub.unsubscribe(channel);
    await sub.quit();
    await r.quit();
    clearTimeout(timer);
  });
  console.log('READY');
}

(lib.startsWith('ioredis') ? viaIoredis() : viaNodeRedis()).catch(fail);
