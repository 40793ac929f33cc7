// dialplane's Calls API driven by jambonz's own Node client (@jambonz/node-client, pinned in package.json): the
// URLs, methods, bodies and answers the client uses must work unchanged against dialplane's REST port.
//
// What the client does (0.4.11, lib/rest/*.js, HTTP through `bent`):
//   calls.list()          GET  {base}/v1/Accounts/{account}/Calls/   (trailing slash), accepts 200 + JSON only
//   calls.retrieve(sid)   GET  {base}/v1/Accounts/{account}/Calls/{sid}, 200 + JSON; 404 -> "sid … not found"
//   calls.update(sid, o)  PUT  {base}/v1/Accounts/{account}/Calls/{sid}, JSON body, accepts 200/202/204 (body
//                         unread); any other status rejects with bent's StatusError (statusCode set)
//   calls.create(o)       POST {base}/v1/Accounts/{account}/Calls, accepts 201 only
// Its update validator refuses a body without one of call_hook, child_call_hook, call_status, listen_status,
// mute_status, conf_mute_status, whisper, dub, conf_hold_status, sip_request (so `dtmf` alone goes out raw here)
// and a whisper without `verb` (so the array form too).
//
// Usage: npm ci --ignore-scripts --omit=optional && node node_client_calls.mjs
// Env:   DP_API_URL (http://127.0.0.1:8082), DP_API_KEY, DP_ACCOUNT_SID: required.
//        DP_CALL_SID: a bridged call of that account (without it only the list and not-found checks run);
//        DP_CHILD_SID: its answered leg; DP_HANGUP=1: finish by hanging DP_CALL_SID up (call_status completed).
// Exit:  0 when every check passed; one line per check.
import assert from 'node:assert/strict';
import jambonz from '@jambonz/node-client';

const env = (name, dflt) => {
  const v = process.env[name] ?? dflt;
  if (v === undefined) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
};
const baseUrl = env('DP_API_URL', 'http://127.0.0.1:8082');
const apiKey = env('DP_API_KEY');
const account = env('DP_ACCOUNT_SID');
const callSid = process.env.DP_CALL_SID;
const childSid = process.env.DP_CHILD_SID;
const ghost = '0f0e0d0c-0000-4000-8000-00000000dead';

const client = jambonz(account, apiKey, {baseUrl});
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}

// What the client does not send (see above), the way it would: PUT with a JSON body and the Bearer key.
async function rawUpdate(sid, body) {
  const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/v1/Accounts/${account}/Calls/${sid}`, {
    method: 'PUT',
    headers: {'Authorization': `Bearer ${apiKey}`, 'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
  return {status: res.status, body: await res.json()};
}

async function rejectsWithStatus(promise, status) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.statusCode, status, `status ${err.statusCode}, expected ${status}`);
    return true;
  });
}

await check('calls.list() is an array of this account\'s calls and legs', async() => {
  const calls = await client.calls.list();
  assert.ok(Array.isArray(calls));
  for (const c of calls) {
    assert.equal(c.account_sid, account);
    assert.equal(typeof c.call_sid, 'string');
    assert.equal(typeof c.call_status, 'string');
    assert.equal(typeof c.sip_status, 'number');
    if (c.direction === 'outbound') assert.equal(typeof c.parent_call_sid, 'string');
  }
  if (callSid) assert.ok(calls.some((c) => c.call_sid === callSid), `${callSid} not listed`);
});

await check('calls.retrieve(unknown) says not found', async() => {
  await assert.rejects(client.calls.retrieve(ghost), /not found/);
});

await check('calls.update(unknown) rejects with 404', async() => {
  await rejectsWithStatus(client.calls.update(ghost, {mute_status: 'mute'}), 404);
});

await check('updateCall without an operation is 400 with jambonz\'s message', async() => {
  const r = await rawUpdate(ghost, {});
  assert.equal(r.status, 400);
  assert.equal(r.body.msg, 'no valid options supplied to updateCall');
});

await check('calls.create() is refused (501: createCall is not in dialplane yet)', async() => {
  await rejectsWithStatus(client.calls.create({from: '15550001111', to: {type: 'phone', number: '15550002222'},
    call_hook: 'http://127.0.0.1:1/hook', call_status_hook: 'http://127.0.0.1:1/status'}), 501);
});

if (callSid) {
  await check('calls.retrieve(call) is its call info', async() => {
    const c = await client.calls.retrieve(callSid);
    assert.equal(c.call_sid, callSid);
    assert.equal(c.account_sid, account);
    assert.equal(c.call_status, 'in-progress');
    assert.equal(c.direction, 'inbound');
  });

  await check('calls.update(call, mute_status) mutes and unmutes the caller', async() => {
    await client.calls.update(callSid, {mute_status: 'mute'});
    await client.calls.update(callSid, {mute_status: 'unmute'});
  });

  await check('calls.update(call, whisper say) is accepted', async() => {
    await client.calls.update(callSid, {whisper: {verb: 'say', text: 'dialplane compatibility check'}});
  });

  await check('updateCall dtmf (sent raw: the client refuses dtmf alone) is accepted', async() => {
    const r = await rawUpdate(callSid, {dtmf: {digit: '1#', duration: 250}});
    assert.equal(r.status, 202, JSON.stringify(r.body));
  });

  await check('calls.update(call, no-answer) on an answered call rejects with 422', async() => {
    await rejectsWithStatus(client.calls.update(callSid, {call_status: 'no-answer'}), 422);
  });

  if (childSid) {
    await check('calls.retrieve(leg) names its parent', async() => {
      const c = await client.calls.retrieve(childSid);
      assert.equal(c.call_sid, childSid);
      assert.equal(c.parent_call_sid, callSid);
      assert.equal(c.direction, 'outbound');
    });
    await check('calls.update(leg, mute_status) mutes and unmutes the callee', async() => {
      await client.calls.update(childSid, {mute_status: 'mute'});
      await client.calls.update(childSid, {mute_status: 'unmute'});
    });
  }

  if (process.env.DP_HANGUP === '1') {
    await check('calls.update(call, completed) hangs up; the call is gone', async() => {
      await client.calls.update(callSid, {call_status: 'completed'});
      await assert.rejects(client.calls.retrieve(callSid), /not found/);
    });
  }
}

console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
