#include "core/ng_protocol.hpp"

#include <charconv>

namespace dp::core::ng {

using bencode::Value;

// ---- nodes ---------------------------------------------------------------------------------------------

std::size_t node_for_call(std::string_view call_id, std::size_t nodes) {
  if (nodes <= 1) return 0;
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : call_id) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return static_cast<std::size_t>(h % nodes);
}

std::optional<Node> parse_node(std::string_view spec) {
  Node n;
  n.spec = std::string(spec);
  std::string_view rest;
  if (spec.starts_with("udp:")) {
    rest = spec.substr(4);
  } else if (spec.starts_with("udp6:")) {
    n.ipv6 = true;
    rest = spec.substr(5);
  } else {
    return std::nullopt;  // ws:// and wss:// are Kamailio-only transports; dialplane speaks UDP
  }
  std::string_view host, port;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos || rest.substr(close + 1, 1) != ":") return std::nullopt;
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
  if (!n.ipv6 && host.find(':') != std::string_view::npos) return std::nullopt;
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) return std::nullopt;
  n.host = std::string(host);
  n.port = static_cast<std::uint16_t>(p);
  return n;
}

// ---- commands ------------------------------------------------------------------------------------------

std::string_view wire_name(Command c) {
  switch (c) {
    case Command::Ping: return "ping";
    case Command::Offer: return "offer";
    case Command::Answer: return "answer";
    case Command::Delete: return "delete";
    case Command::Query: return "query";
    case Command::PlayMedia: return "play media";
    case Command::StopMedia: return "stop media";
    case Command::PlayDtmf: return "play DTMF";
    case Command::BlockMedia: return "block media";
    case Command::UnblockMedia: return "unblock media";
    case Command::SubscribeRequest: return "subscribe request";
    case Command::SubscribeAnswer: return "subscribe answer";
    case Command::Unsubscribe: return "unsubscribe";
    case Command::SilenceMedia: return "silence media";
    case Command::UnsilenceMedia: return "unsilence media";
  }
  return "unknown";
}

namespace {

Value string_list(const std::vector<std::string>& items) {
  Value l = Value::list();
  for (const auto& s : items) l.push(s);
  return l;
}

void set_if(Value& d, const char* key, const std::string& v) {
  if (!v.empty()) d.set(key, v);
}

void add_flag(Value& d, std::string flag) {
  if (const Value* f = d.find("flags"); f && f->is_list()) {
    Value copy = *f;
    copy.push(std::move(flag));
    d.set("flags", std::move(copy));
    return;
  }
  Value l = Value::list();
  l.push(std::move(flag));
  d.set("flags", std::move(l));
}

void set_options(Value& d, const SdpOptions& o) {
  if (!o.flags.empty()) d.set("flags", string_list(o.flags));
  if (!o.replace.empty()) d.set("replace", string_list(o.replace));
  set_if(d, "transport protocol", o.transport_protocol);
  set_if(d, "ICE", o.ice);
  set_if(d, "DTLS", o.dtls);
  if (!o.rtcp_mux.empty()) d.set("rtcp-mux", string_list(o.rtcp_mux));
  if (!o.sdes.empty()) d.set("SDES", string_list(o.sdes));
}

void set_party(Value& d, const Party& p) {
  switch (p.by) {
    case Party::By::FromTag: d.set("from-tag", p.value); break;
    case Party::By::Label: d.set("label", p.value); break;
    case Party::By::All: add_flag(d, "all"); break;
  }
}

Value start(Command c, const std::string& call_id) {
  Value d = Value::dict();
  d.set("command", wire_name(c));
  if (c != Command::Ping) d.set("call-id", call_id);
  return d;
}

struct Builder {
  Value operator()(const Ping&) const { return start(Command::Ping, {}); }
  Value operator()(const Offer& r) const {
    Value d = start(Command::Offer, r.call_id);
    d.set("from-tag", r.from_tag);
    d.set("sdp", r.sdp);
    set_if(d, "via-branch", r.via_branch);
    set_if(d, "label", r.label);
    set_options(d, r.options);
    return d;
  }
  Value operator()(const Answer& r) const {
    Value d = start(Command::Answer, r.call_id);
    d.set("from-tag", r.from_tag);
    d.set("to-tag", r.to_tag);
    d.set("sdp", r.sdp);
    set_if(d, "via-branch", r.via_branch);
    set_if(d, "label", r.label);
    set_options(d, r.options);
    return d;
  }
  Value operator()(const Delete& r) const {
    Value d = start(Command::Delete, r.call_id);
    d.set("from-tag", r.from_tag);
    set_if(d, "to-tag", r.to_tag);
    set_if(d, "via-branch", r.via_branch);
    if (r.fatal) add_flag(d, "fatal");
    if (r.delay_s) d.set("delete delay", *r.delay_s);
    return d;
  }
  Value operator()(const Query& r) const {
    Value d = start(Command::Query, r.call_id);
    set_if(d, "from-tag", r.from_tag);
    set_if(d, "to-tag", r.to_tag);
    return d;
  }
  Value operator()(const PlayMedia& r) const {
    Value d = start(Command::PlayMedia, r.call_id);
    set_party(d, r.to);
    if (!r.file.empty()) d.set("file", r.file);
    else d.set("blob", r.blob);
    if (r.repeat_times) d.set("repeat-times", *r.repeat_times);
    return d;
  }
  Value operator()(const StopMedia& r) const {
    Value d = start(Command::StopMedia, r.call_id);
    set_party(d, r.to);
    return d;
  }
  Value operator()(const PlayDtmf& r) const {
    Value d = start(Command::PlayDtmf, r.call_id);
    set_party(d, r.from);
    d.set("code", r.code);
    if (r.duration_ms) d.set("duration", *r.duration_ms);
    if (r.volume_db) d.set("volume", *r.volume_db);
    if (r.pause_ms) d.set("pause", *r.pause_ms);
    return d;
  }
  Value operator()(const BlockMedia& r) const {
    Value d = start(Command::BlockMedia, r.call_id);
    if (r.from) set_party(d, *r.from);
    set_if(d, "to-tag", r.to_tag);
    return d;
  }
  Value operator()(const UnblockMedia& r) const {
    Value d = start(Command::UnblockMedia, r.call_id);
    if (r.from) set_party(d, *r.from);
    set_if(d, "to-tag", r.to_tag);
    return d;
  }
  Value operator()(const SubscribeRequest& r) const {
    Value d = start(Command::SubscribeRequest, r.call_id);
    set_options(d, r.options);
    if (r.from_tags.empty()) add_flag(d, "all");
    else d.set("from-tags", string_list(r.from_tags));
    set_if(d, "to-tag", r.to_tag);
    return d;
  }
  Value operator()(const SubscribeAnswer& r) const {
    Value d = start(Command::SubscribeAnswer, r.call_id);
    d.set("to-tag", r.to_tag);
    d.set("sdp", r.sdp);
    if (!r.flags.empty()) d.set("flags", string_list(r.flags));
    return d;
  }
  Value operator()(const SilenceMedia& r) const {
    Value d = start(Command::SilenceMedia, r.call_id);
    set_party(d, r.from);
    set_if(d, "to-tag", r.to_tag);
    return d;
  }
  Value operator()(const UnsilenceMedia& r) const {
    Value d = start(Command::UnsilenceMedia, r.call_id);
    set_party(d, r.from);
    set_if(d, "to-tag", r.to_tag);
    return d;
  }
  Value operator()(const Unsubscribe& r) const {
    Value d = start(Command::Unsubscribe, r.call_id);
    d.set("to-tag", r.to_tag);
    return d;
  }
};

}  // namespace

Command command_of(const Request& r) {
  // The variant's alternatives are declared in Command's order.
  return static_cast<Command>(r.index());
}

Value to_bencode(const Request& r) { return std::visit(Builder{}, r); }

// ---- framing ---------------------------------------------------------------------------------------------

bool valid_cookie(std::string_view cookie) {
  if (cookie.empty() || cookie.size() > 64) return false;
  for (char c : cookie)
    if (c <= ' ' || c > '~') return false;
  return true;
}

std::string frame(std::string_view cookie, const Value& body) {
  std::string out(cookie);
  out += ' ';
  bencode::encode_to(body, out);
  return out;
}

std::optional<Frame> split_frame(std::string_view datagram) {
  auto sp = datagram.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  Frame f{datagram.substr(0, sp), datagram.substr(sp + 1)};
  if (!valid_cookie(f.cookie)) return std::nullopt;
  return f;
}

// ---- replies ---------------------------------------------------------------------------------------------

const TagInfo* NgReply::tag(std::string_view t) const {
  for (const auto& ti : tags)
    if (ti.tag == t) return &ti;
  return nullptr;
}

namespace {

// Reads typed fields out of reply dictionaries. The first wrong type wins and names its path, e.g.
// "tags.ft.medias[0].streams: not a list".
class Reader {
 public:
  bool failed() const { return !error_.empty(); }
  std::string take_error() { return std::move(error_); }

  bool fail(std::string_view path, std::string_view what) {
    if (error_.empty()) error_ = std::string(path) + ": " + std::string(what);
    return false;
  }

  // Each reader leaves `out` untouched when the key is absent and fails on a present value of the wrong kind.
  bool str(const Value& d, std::string_view key, std::string& out, std::string_view path) {
    const Value* v = d.find(key);
    if (!v) return true;
    if (!v->is_string()) return fail(join(path, key), "not a string");
    out = *v->as_string();
    return true;
  }
  bool str(const Value& d, std::string_view key, std::optional<std::string>& out, std::string_view path) {
    std::string s;
    if (!d.find(key)) return true;
    if (!str(d, key, s, path)) return false;
    out = std::move(s);
    return true;
  }
  bool integer(const Value& d, std::string_view key, std::int64_t& out, std::string_view path) {
    const Value* v = d.find(key);
    if (!v) return true;
    if (!v->is_integer()) return fail(join(path, key), "not an integer");
    out = *v->as_integer();
    return true;
  }
  bool integer(const Value& d, std::string_view key, std::optional<std::int64_t>& out, std::string_view path) {
    std::int64_t i = 0;
    if (!d.find(key)) return true;
    if (!integer(d, key, i, path)) return false;
    out = i;
    return true;
  }
  bool strings(const Value& d, std::string_view key, std::vector<std::string>& out, std::string_view path) {
    const Value* v = d.find(key);
    if (!v) return true;
    if (!v->is_list()) return fail(join(path, key), "not a list");
    for (const auto& e : *v->as_list()) {
      if (!e.is_string()) return fail(join(path, key), "an element is not a string");
      out.push_back(*e.as_string());
    }
    return true;
  }
  // The list of dictionaries at `key` (absent: empty), or nullptr after a failure.
  const bencode::List* dicts(const Value& d, std::string_view key, std::string_view path) {
    static const bencode::List kEmpty;
    const Value* v = d.find(key);
    if (!v) return &kEmpty;
    if (!v->is_list()) {
      fail(join(path, key), "not a list");
      return nullptr;
    }
    for (const auto& e : *v->as_list()) {
      if (!e.is_dict()) {
        fail(join(path, key), "an element is not a dictionary");
        return nullptr;
      }
    }
    return v->as_list();
  }

  static std::string join(std::string_view path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return std::string(path) + "." + std::string(key);
  }
  static std::string index(std::string_view path, std::size_t i) {
    return std::string(path) + "[" + std::to_string(i) + "]";
  }

 private:
  std::string error_;
};

bool read_stream(Reader& r, const Value& d, StreamInfo& s, const std::string& path) {
  if (!r.integer(d, "local port", s.local_port, path) || !r.str(d, "local address", s.local_address, path) ||
      !r.integer(d, "last packet", s.last_packet, path) || !r.strings(d, "flags", s.flags, path))
    return false;
  if (const Value* ep = d.find("endpoint")) {
    std::string p = Reader::join(path, "endpoint");
    if (!ep->is_dict()) return r.fail(p, "not a dictionary");
    if (!r.str(*ep, "address", s.endpoint_address, p) || !r.integer(*ep, "port", s.endpoint_port, p)) return false;
  }
  if (const Value* st = d.find("stats")) {
    std::string p = Reader::join(path, "stats");
    if (!st->is_dict()) return r.fail(p, "not a dictionary");
    if (!r.integer(*st, "packets", s.packets, p) || !r.integer(*st, "bytes", s.bytes, p) ||
        !r.integer(*st, "errors", s.errors, p))
      return false;
  }
  return true;
}

bool read_media(Reader& r, const Value& d, MediaInfo& m, const std::string& path) {
  if (!r.integer(d, "index", m.index, path) || !r.str(d, "type", m.type, path) ||
      !r.str(d, "protocol", m.protocol, path))
    return false;
  const bencode::List* streams = r.dicts(d, "streams", path);
  if (!streams) return false;
  for (std::size_t i = 0; i < streams->size(); ++i) {
    StreamInfo s;
    if (!read_stream(r, (*streams)[i], s, Reader::index(Reader::join(path, "streams"), i))) return false;
    m.streams.push_back(std::move(s));
  }
  return true;
}

bool read_tag(Reader& r, const std::string& key, const Value& d, TagInfo& t, const std::string& path) {
  if (!d.is_dict()) return r.fail(path, "not a dictionary");
  t.tag = key;  // the tag itself is the key; the `tag` field repeats it
  if (!r.str(d, "tag", t.tag, path) || !r.str(d, "label", t.label, path)) return false;
  const bencode::List* medias = r.dicts(d, "medias", path);
  if (!medias) return false;
  for (std::size_t i = 0; i < medias->size(); ++i) {
    MediaInfo m;
    if (!read_media(r, (*medias)[i], m, Reader::index(Reader::join(path, "medias"), i))) return false;
    t.medias.push_back(std::move(m));
  }
  const bencode::List* subs = r.dicts(d, "subscribers", path);
  if (!subs) return false;
  for (const auto& s : *subs) {
    std::string tag;
    if (!r.str(s, "tag", tag, Reader::join(path, "subscribers"))) return false;
    if (!tag.empty()) t.subscribers.push_back(std::move(tag));
  }
  return true;
}

// The `result` string; nullopt (and `err`) for a missing or unknown one.
std::optional<NgReply::Result> result_of(const Value& v, std::string& err) {
  const Value* result = v.find("result");
  if (!result || !result->is_string()) {
    err = "reply has no result string";
    return std::nullopt;
  }
  const std::string& res = *result->as_string();
  if (res == "ok") return NgReply::Result::Ok;
  if (res == "pong") return NgReply::Result::Pong;
  if (res == "error") return NgReply::Result::Error;
  if (res == "load limit") return NgReply::Result::LoadLimit;
  err = "unknown result '" + res.substr(0, 40) + "'";
  return std::nullopt;
}

// The per-tag media and stream info of `query`/`delete` replies.
bool read_tags(Reader& r, const Value& v, std::vector<TagInfo>& out) {
  const Value* tags = v.find("tags");
  if (!tags) return true;
  if (!tags->is_dict()) return r.fail("tags", "not a dictionary");
  for (const auto& [key, t] : *tags->as_dict()) {
    TagInfo info;
    if (!read_tag(r, key, t, info, "tags." + key.substr(0, 40))) return false;
    out.push_back(std::move(info));
  }
  return true;
}

}  // namespace

ParsedReply parse_reply(const Value& v) {
  ParsedReply out;
  if (!v.is_dict()) {
    out.error = "reply is not a dictionary";
    return out;
  }
  auto result = result_of(v, out.error);
  if (!result) return out;
  Reader r;
  NgReply reply;
  reply.result = *result;
  bool ok = r.str(v, "error-reason", reply.error_reason, "") && r.str(v, "warning", reply.warning, "") &&
            r.str(v, "sdp", reply.sdp, "") && r.integer(v, "duration", reply.duration_ms, "") &&
            r.str(v, "to-tag", reply.to_tag, "") && r.strings(v, "from-tags", reply.from_tags, "") &&
            r.integer(v, "created", reply.created, "");
  if (ok && reply.result == NgReply::Result::LoadLimit) ok = r.str(v, "message", reply.error_reason, "");
  if (ok) ok = read_tags(r, v, reply.tags);
  if (!ok) {
    out.error = r.take_error();
    return out;
  }
  out.reply = std::move(reply);
  return out;
}

ParsedReply parse_reply(std::string_view body) {
  auto decoded = bencode::decode(body);
  if (!decoded.value) {
    ParsedReply out;
    out.error = "bencode: " + decoded.error.what + " at offset " + std::to_string(decoded.error.offset);
    return out;
  }
  return parse_reply(*decoded.value);
}

}  // namespace dp::core::ng
