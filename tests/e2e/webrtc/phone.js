// The browser side of tests/e2e/test_webrtc.py: a JsSIP phone in headless Chromium that registers over WebSocket,
// answers every incoming call with the fake microphone (or places one: ?call=) and reports everything it sees to
// the page server (POST /event, JSON), which is how the test follows it: registration, the INVITE's SDP, ICE/DTLS
// state and getStats() packet counters every 500 ms, the end of the call.
// Bundled by esbuild (package.json "bundle"): JsSIP 3.13 ships no browser build.
import JsSIP from "jssip";

const q = new URLSearchParams(location.search);

// One report after the other: parallel fetches reach the test's threaded server in any order, and a test that
// saw "confirmed" could find no "accepted" yet (JsSIP emits them in that order).
let reported = Promise.resolve();
function report(event, data = {}) {
  const body = JSON.stringify({ event, t: Date.now(), ...data });
  reported = reported.then(() => fetch("/event", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  })).catch(() => {});
  return reported;
}

window.addEventListener("error", (e) => report("page_error", { message: String(e.message) }));
window.addEventListener("unhandledrejection", (e) => report("page_error", { message: String(e.reason) }));

// The audio counters of one RTCPeerConnection: what the test asserts on (packets each way, DTLS, the codec).
async function audioStats(pc) {
  const s = { packets_sent: 0, packets_received: 0, bytes_received: 0, dtls_state: "", srtp_cipher: "",
              ice_state: pc.iceConnectionState, codec: "" };
  const codecs = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "codec") codecs[r.id] = r.mimeType;
    if (r.type === "outbound-rtp" && r.kind === "audio") s.packets_sent = r.packetsSent;
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      s.packets_received = r.packetsReceived;
      s.bytes_received = r.bytesReceived;
      s.codec_id = r.codecId;
    }
    if (r.type === "transport") {
      s.dtls_state = r.dtlsState;
      s.srtp_cipher = r.srtpCipher || "";
    }
  });
  s.codec = codecs[s.codec_id] || "";
  delete s.codec_id;
  return s;
}

async function pollStats(session) {
  if (session.polling) return;  // early media (183) may have started it already
  session.polling = true;
  while (!session.isEnded()) {
    try {
      await report("stats", await audioStats(session.connection));
    } catch (e) {
      await report("page_error", { message: "getStats: " + e });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const ua = new JsSIP.UA({
  sockets: [new JsSIP.WebSocketInterface(q.get("ws"))],
  uri: q.get("uri"),
  authorization_user: q.get("user"),
  password: q.get("password"),
  register: true,
  register_expires: 600,
  session_timers: false,
  user_agent: "dialplane-e2e JsSIP/" + JsSIP.version,
});
ua.on("connected", () => report("ws_connected"));
ua.on("disconnected", () => report("ws_disconnected"));
// With ?call=<SIP URI> the phone places one call once registered, reports what it sees like an answered call,
// and hangs up after ?hangup_after_ms (test_webrtc w5: a browser as the caller).
let placed = false;
function placeCall(target) {
  const hangupAfter = Number(q.get("hangup_after_ms") || 0);
  const session = ua.call(target, {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] },
    eventHandlers: {
      sending: (e) => report("sending", { sdp: e.request.body || "" }),
      progress: (e) => {
        report("progress", { status: e.response ? e.response.status_code : 0 });
        if (e.response && e.response.body) pollStats(session);  // early media: dialMusic
      },
      accepted: (e) => report("accepted", { sdp: e.response ? e.response.body || "" : "" }),
      confirmed: () => {
        report("confirmed", { local_sdp: session.connection.localDescription.sdp });
        pollStats(session);
        if (hangupAfter > 0) setTimeout(() => session.terminate(), hangupAfter);
      },
      ended: (e) => report("ended", { originator: e.originator, cause: e.cause }),
      failed: (e) => report("failed", { originator: e.originator, cause: e.cause,
                                        status: e.message && e.message.status_code ? e.message.status_code : 0 }),
    },
  });
}
ua.on("registered", () => {
  report("registered", { jssip: JsSIP.version, browser: navigator.userAgent });
  if (q.get("call") && !placed) {
    placed = true;
    placeCall(q.get("call"));
  }
});
ua.on("registrationFailed", (e) =>
  report("registration_failed", { cause: e.cause, status: e.response ? e.response.status_code : 0 }));
ua.on("newRTCSession", ({ originator, session, request }) => {
  if (originator !== "remote") return;
  report("incoming", { from: request.from.uri.toString(), ruri: request.ruri.toString(), sdp: request.body || "" });
  session.on("accepted", () => report("accepted"));
  // The test asks the browser to hang up itself through a header of the dial (dial `headers`).
  const hangupAfter = Number(request.getHeader("X-E2E-Hangup-After-Ms") || 0);
  const holdAfter = Number(request.getHeader("X-E2E-Hold-After-Ms") || 0);
  session.on("confirmed", () => {
    report("confirmed", { local_sdp: session.connection.localDescription.sdp });
    pollStats(session);
    if (hangupAfter > 0) setTimeout(() => session.terminate(), hangupAfter);
    // a re-INVITE from the browser (a=sendonly); JsSIP ends the call with cause "WebRTC Error" if it fails
    if (holdAfter > 0) setTimeout(() => session.hold({}, () => report("hold_ok")), holdAfter);
  });
  session.on("ended", (e) => report("ended", { originator: e.originator, cause: e.cause }));
  session.on("failed", (e) => report("failed", { originator: e.originator, cause: e.cause }));
  session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
});
ua.start();
report("started", { jssip: JsSIP.version });
